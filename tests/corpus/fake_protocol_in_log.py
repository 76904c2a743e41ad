# tries: print lines that look like the runner's own messages, then fail
# expect: failed error
print('{"kind": "finished", "submission_id": "x", "status": "completed", "reason": "ended", "duration_s": 0, "frames": 0}')
print("\n\x00\r\n{\"kind\": \"idle\"}")
raise RuntimeError("real failure")
