"""Real servers on loopback for the tests and the embedded demo: each starts on a free port,
waits until it answers, and stops and removes its data afterwards."""
