"""SIP2 (3M Standard Interchange Protocol 2.00) endpoint of the library service.

``messages`` frames, parses and formats messages (pure), ``responses`` builds each
response with its fields in the standard's order (pure), ``session`` maps requests to
``services.library.actions`` for one connection, ``server`` runs the TCP and TLS
listeners in the service container, ``accounts`` keeps the machines' logins.
"""
