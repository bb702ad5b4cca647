import importlib

from django.core.management.base import BaseCommand

from mes import demo

# Each app may have a `demo` module with `load(stdout)`; they run in this order.
APP_DEMO_MODULES = [
    "releases.demo",
    "inventory.demo",
    "workorders.demo",
    "planning.demo",
    "quality.demo",
    "integrations.demo",
    "monitoring.demo",
    "simulation.demo",
    "drills.demo",
]


class Command(BaseCommand):
    help = "Create the demo users and data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        logins = demo.load(self.stdout)
        for module_name in APP_DEMO_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            module.load(self.stdout)
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for username, label in logins:
            self.stdout.write(f"  {username:<12} {label}")
