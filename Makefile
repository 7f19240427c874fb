.PHONY: setup run test bench

setup:
	installer/bootstrap.sh app

run:
	installer/bootstrap.sh app && .venv/bin/hearing-assist

test:
	installer/bootstrap.sh test && installer/run-tests.sh

bench:
	installer/bootstrap.sh test
	.venv/bin/python -m pip install -q -e ".[bench]" && .venv/bin/python -m pip install -q --no-deps pyclarity==0.9.0
	installer/with-test-audio.sh .venv/bin/hearing-assist bench all
