"""The pure rules of a voice call: telephone audio (μ-law, 20 ms frames, levels), when a caller
starts and stops talking, whether a machine answered, what the agent says next, and how both
sides of the call line up in its recording.

Nothing here waits on a network or a clock: time is the caller's audio, counted in frames, so the
same call replays identically in a test, a notebook or the simulator.
"""
