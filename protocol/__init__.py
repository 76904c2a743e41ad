"""Messages and framing shared by web and runner (SPEC §5). Imports nothing from either.

Import from the submodules (``protocol.messages``, ``protocol.framing``, ``protocol.limits``):
this package imports nothing eagerly, so the sandbox child can read ``protocol.limits``
without loading pydantic.
"""
