# The two commands of README.md.
.PHONY: demo test env

env:
	bash tools/setup_env.sh

demo: env
	bash tools/demo.sh

test: env
	.venv/bin/python -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)
