"""The baseline of the gateway benchmark: a nameko service whose one RPC does nothing, so
that a call to it costs exactly one plain nameko RPC round trip on this broker."""
from nameko.rpc import rpc


class EchoService:
    name = "echo"

    @rpc
    def echo(self, value=None):
        return value
