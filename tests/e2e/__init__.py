"""End-to-end tests: the real ``aigw-console`` process in a real terminal (tmux)."""
