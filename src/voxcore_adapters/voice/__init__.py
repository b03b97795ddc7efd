"""Call pipelines and what they run on: the default scripted agent, a deterministic tone
synthesizer for its prompts, and a leg wrapper that records both sides of a call."""
