# The two commands a newcomer runs: `make demo` and `make test`. Both set the machine up first.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV = $(shell scripts/bootstrap.sh)
RUN = $(UV) run --locked --no-sync

.PHONY: demo demo-sim test bench-pacing bench-adapters notebook clean bench-api bench-dialler bench-fleet

# Every role on this machine against a simulated carrier (vox demo --help: --minutes, --workers).
demo:
	@scripts/system-deps.sh
	$(RUN) vox demo $(DEMO_ARGS)

# The simulator alone: one scenario, every strategy, in seconds.
demo-sim:
	$(RUN) python -m bench.pacing --demo

test:
	@scripts/system-deps.sh
	@uv_bin="$(UV)"; set -e; \
	echo "== ruff"; $$uv_bin run --no-sync ruff check .; $$uv_bin run --no-sync ruff format --check .; \
	echo "== mypy"; $$uv_bin run --no-sync mypy; \
	echo "== pytest"; $$uv_bin run --no-sync pytest

bench-pacing:
	$(RUN) python -m bench.pacing

bench-adapters:
	$(RUN) python -m bench.adapters

bench-fleet:
	$(RUN) python -m bench.fleet

notebook:
	$(RUN) python docs/notebooks/pacing.py --out build/notebook

clean:
	rm -rf .venv .tools build .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -f src/voxcore_domain/*.so src/voxcore_domain/pacing.native.txt

bench-api:
	$(RUN) python -m bench.api

bench-dialler:
	$(RUN) python -m bench.dialler

.PHONY: drills
# Fault drills: the whole platform on this machine, broken on purpose while campaigns run, then
# audited; one row per drill (docs/drills.md). Exits non-zero if any drill fails.
drills:
	@scripts/system-deps.sh
	$(RUN) python -m voxcore_drills $(DRILLS_ARGS)
