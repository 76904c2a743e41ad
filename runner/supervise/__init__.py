"""The parent's side of a run: spawning the child, its pipes, pacing, and the supervisor that
enforces every promise itself (time, Stop, frame rate, memory) whatever the child does."""
