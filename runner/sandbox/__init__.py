"""What the sandbox child imports: rules, transformer, guards, module namespaces, the program
API, frame packing, the record format and confinement. Nothing here imports pydantic (a test
enforces it): the child must start fast and, once confined, cannot import anything more."""
