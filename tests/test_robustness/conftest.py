from test_engine.conftest import run_main  # noqa: F401  (the tool-running helper)
