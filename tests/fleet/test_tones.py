"""The deterministic tone synthesizer the scripted agent speaks with."""

from __future__ import annotations

from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.audio import duration_ms, level_dbfs


async def test_the_same_text_always_sounds_the_same_and_other_text_differently() -> None:
    first, second = ToneSynth(), ToneSynth()
    assert await first.render("Hello Ann.") == await second.render("Hello Ann.")
    assert await first.render("Hello Ann.") != await first.render("Hello Bob.")


def test_a_prompt_lasts_about_as_long_as_saying_it() -> None:
    synth = ToneSynth()
    short = duration_ms(synth.tones("Yes."))
    long = duration_ms(synth.tones("Thank you for your time, we will call you again tomorrow."))
    assert 150 <= short <= 600
    assert 2500 <= long <= 5000


def test_tones_are_what_a_mulaw_line_carries_at_a_speaking_level() -> None:
    pcm = ToneSynth().tones("Hello there.")
    assert mulaw.quantize(pcm) == pcm
    assert -30.0 < level_dbfs(pcm) < -12.0


def test_the_cache_keeps_only_recent_texts() -> None:
    synth = ToneSynth(cache_size=2)
    for name in ("Ann", "Bob", "Cy"):
        synth.tones(f"Hello {name}.")
    assert synth.tones.cache_info().currsize == 2
