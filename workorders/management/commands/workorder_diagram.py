from django.core.management.base import BaseCommand

from workorders.transitions import OPERATION_TRANSITIONS, WORK_ORDER_TRANSITIONS, mermaid_diagram


class Command(BaseCommand):
    help = "Print the work-order and operation state diagrams (Mermaid) from the tables."

    def handle(self, *args, **options):
        self.stdout.write("### Work order\n")
        self.stdout.write(mermaid_diagram(WORK_ORDER_TRANSITIONS, "work order"))
        self.stdout.write("\n### Operation\n")
        self.stdout.write(mermaid_diagram(OPERATION_TRANSITIONS, "operation"))
