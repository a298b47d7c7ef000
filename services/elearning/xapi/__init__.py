"""An xAPI (Experience API) Learning Record Store on the elearning service's HTTP port, under
``/xapi/``: the About, Statement, State, Agents, Activities, Agent Profile and Activity
Profile resources, for e-learning content players. It speaks xAPI 1.0.3 and 2.0.0, chosen per
request; ``make conformance`` runs the ADL LRS conformance suite against it.

The rules, free of I/O, one concern a module:

- ``versions``: which version a request speaks, what differs between them, what an answer claims;
- ``alternate_syntax``: 1.0.3's alternate request syntax (a POST form standing for a request);
- ``values``, ``agents``, ``validation``: statements checked and normalised (the JSON values,
  the Agents and Groups and how they are identified, the statement itself); ``timestamps``;
- ``statements``: what storing means: what the LRS sets, comparison, match keys, voiding;
- ``attachments``: attachment data sent and answered as multipart/mixed; ``signatures``: signed
  statements (a JWS over the statement) verified;
- ``queries``: statement queries, their ``more`` cursors and output formats;
- ``documents``: State, Agent Profile and Activity Profile documents, one rule set: scope,
  ETags and preconditions (per version), JSON merge;
- ``activities``: the definitions statements carry, merged for the Activities resource;
- ``clients``: the clients' HTTP Basic credentials;
- ``progress_feed``: the lesson progress a statement reports.

The store: ``statement_store``, ``document_store``, ``activity_store``, ``client_store``. HTTP: ``lrs_request`` (a
request as the resources read it), ``answers`` (the headers and refusals of every answer),
``entrypoints`` (the resources, mixed into ``ElearningService``).
"""
