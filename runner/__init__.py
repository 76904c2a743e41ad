"""The runner: runs untrusted tree programs in a sandbox and drives the LEDs (SPEC §2, §5, §6)."""
