# The two commands of README.md.
.PHONY: demo test env

env:
	bash tools/setup_env.sh

demo:
	bash tools/demo.sh  # sets up .venv itself

test: env
	.venv/bin/python -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)
