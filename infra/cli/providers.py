"""``suite provider add|revoke``: popular-science providers' credentials (an institute or a
company that shares videos, articles and exhibitions through the library: ``services/library/popsci.py``).

The key is made here and only its scrypt hash is sent to the library, so the key crosses no
broker; it is shown once, to the operator, who hands it to the provider. Revoking forgets the
hash: that provider uploads nothing more (what it shared stays as the editors left it)."""
from __future__ import annotations

from infra.cli import common


def cmd_add(args) -> int:
    import secrets

    from nameko.exceptions import RemoteError

    from services.common import passwords
    from services.library import popsci

    try:
        popsci.check_provider_id(args.provider_id)
        popsci.check_name(args.name)
    except Exception as exc:  # noqa: BLE001 - BadInput: say why, before any RPC
        return common.refused(exc, 2)
    key = secrets.token_urlsafe(32)
    with common.rpc(common.settings()) as rpc:
        try:
            rpc.library.popsci_provider_add(args.provider_id, args.name, passwords.hash_secret(key), args.replace)
        except RemoteError as exc:
            return common.refused(exc.value)
    print(f"provider {args.provider_id} ({args.name}): it uploads to POST /popsci/v1/items on the library's port "
          f"with the headers X-Provider: {args.provider_id} and X-Provider-Key: <the key>; uploads wait for an "
          "editor's review")
    return common.shown_once(f"the key of provider {args.provider_id}", key)


def cmd_revoke(args) -> int:
    from nameko.exceptions import RemoteError

    with common.rpc(common.settings()) as rpc:
        try:
            revoked = rpc.library.popsci_provider_revoke(args.provider_id)
        except RemoteError as exc:
            return common.refused(exc.value)
    if not revoked:
        return common.refused(f"provider {args.provider_id} is unknown or already revoked")
    print(f"provider {args.provider_id} revoked: its key is forgotten, it uploads nothing more")
    return 0


def add_provider(sub) -> None:
    provider = common.subcommands(sub.add_parser("provider", help="popular-science providers (institutes, "
                                                                  "companies) that upload to the library"),
                                  "provider_command")
    add = provider.add_parser("add", help="register a provider; print its key alone on the last line")
    add.add_argument("provider_id", metavar="PROVIDER_ID", help="2-64 lower-case letters, digits, '.', '_' or '-'")
    add.add_argument("--name", required=True, help="the institute's or company's name, as residents read it")
    add.add_argument("--replace", action="store_true", help="give a registered (or revoked) provider a new key")
    add.set_defaults(func=cmd_add)
    revoke = provider.add_parser("revoke", help="revoke a provider's key")
    revoke.add_argument("provider_id", metavar="PROVIDER_ID")
    revoke.set_defaults(func=cmd_revoke)
