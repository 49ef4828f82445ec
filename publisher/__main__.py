from publisher.cli import run

run()
