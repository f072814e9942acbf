"""The aigw-console benchmark (issue 3): ``python -m bench`` / ``make bench``; see bench/README.md."""
