.PHONY: setup run test bench screenshot

setup:
	installer/bootstrap.sh app

run:
	installer/bootstrap.sh app && .venv/bin/hearing-assist

test:
	installer/bootstrap.sh test && installer/run-tests.sh

bench:
	installer/bootstrap.sh test && installer/with-test-audio.sh .venv/bin/hearing-assist bench all
