"""Every sentence the scan app's script shows, translated on the server.

The app's script renders from data it keeps on the device and shows no text of
its own: the page hands it these strings in the request's language (a JSON
block, no inline script).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from floor import errors
from floor.errors import hint_for
from workorders.models import FaultCategory

# Translated when a page asks for them (``client_strings``), in that request's language.
CLIENT_STRINGS = {
    "accepted_by": _("accepted by {name}"),
    "accepted_by_label": _("Accepted by"),
    "action_accept": _("Accept"),
    "action_start": _("Start"),
    "action_pause": _("Pause"),
    "action_resume": _("Resume"),
    "action_finish": _("Finish"),
    "action_return": _("Return"),
    "action_issue": _("Issue"),
    "action_put_away": _("Put away"),
    "action_fault": _("Fault report"),
    "action_check": _("Quality check"),
    "check_answered": _("answered, waiting for the server"),
    "check_badge_scan": _("Scan the badge"),
    "check_blocking": _("Must pass before finishing"),
    "check_not_blocking": _("To be answered; does not block finishing"),
    "check_last_failed": _("The last answer failed: fix the part and check again."),
    "check_limits": _("passes from {min} to {max} {unit}"),
    "check_missing": _("Answer these first: {fields}"),
    "check_must_be_yes": _("passes only when ticked"),
    "check_submit": _("Submit the check"),
    "already_done": _("Already done (sent before)"),
    "backflush": _("taken automatically at finish"),
    "batch_n": _("batch {batch}"),
    "camera_unavailable": _("The camera cannot be used here. Use the scanner or type the code."),
    "cancel": _("Cancel"),
    "choose_operation": _("Choose the operation"),
    "choose_scrap_reason": _("Choose a scrap reason"),
    "choose_work_center": _("Choose the work center"),
    "device_is": _("This device: {device}"),
    "discard": _("Discard"),
    "done": _("Recorded"),
    "due": _("due {date}"),
    "due_date": _("Due"),
    "export_log": _("Export the device log"),
    "failed": _("That did not work."),
    "fault_at_operation": _("At {op} ({center})"),
    "fault_pick_place": _("Where is the fault?"),
    "fault_place_required": _("Choose the work center first."),
    "fault_title": _("Report a fault"),
    "finish_title": _("Finish with"),
    "from_location": _("From location"),
    "from_location_n": _("From {code}"),
    "from_pending": _("From (pending put-away)"),
    "good": _("Good"),
    "incident_n": _("incident {n} ({code})"),
    "issue_ready": _("Check the quantity and tap Issue"),
    "issue_title": _("Issue material"),
    "item_scanned": _("Item scanned"),
    "location_required": _("Scan or type the location."),
    "log_title": _("Device log"),
    "materials": _("Materials"),
    "more": _("More"),
    "my_queue": _("My queue"),
    "n_waiting": _("{n} waiting to be sent"),
    "no_open_operations": _("This work order has no operation to work on now."),
    "not_in_materials": _("This material is not in the operation's list. Check before issuing."),
    "not_loaded": _("Not loaded yet"),
    "not_confirmed": _(
        "Saved on this device, not yet confirmed by the server: it checks this when "
        "the network returns."
    ),
    "unconfirmed_short": _("not yet confirmed"),
    "order_paused_by": _(
        "The work order was paused by {name} at {time}: {reason}. Its operations cannot "
        "move until it is resumed."
    ),
    "order_not_active": _("The work order is {state}: its operations cannot move now."),
    "order_state": _("Work order: {state}"),
    "note_optional": _("Note (optional)"),
    "nothing_set_aside": _("Nothing is set aside."),
    "nothing_waiting": _("Nothing is waiting for put-away."),
    "offline": _("Offline"),
    "offline_as_of": _("Offline · as of {time}"),
    "online": _("Online"),
    "open_faults": _("Open faults"),
    "others_waiting": _(
        "{n} actions of another person wait on this device until they sign in again."
    ),
    "pause_because": _("Pause because"),
    "photo_optional": _("Photo (optional)"),
    "planned": _("{qty} {unit} planned"),
    "product": _("Product"),
    "putaway_title": _("Put away"),
    "qty_at": _("{qty} {unit} at {location}"),
    "qty_line": _("{qty} {unit} to make · {good} good · {scrap} scrap"),
    "quantities": _("Quantities"),
    "quantity_invalid": _("Enter a quantity greater than zero."),
    "quantity_too_much": _("Good and scrap together may not exceed {qty}."),
    "quantity_unit": _("Quantity ({unit})"),
    "queue_empty": _("Nothing in your queue right now."),
    "report_fault": _("Report a fault"),
    "return_reason": _("Why do you return it?"),
    "saved_not_confirmed": _("Saved on this device, not yet confirmed"),
    "sending": _("Sending…"),
    "scan_batch_to_issue": _("Scan a batch label to issue material to this operation."),
    "scan_item": _("Scan the item (work order, material or batch label)"),
    "scan_location": _("Scan the location"),
    "scan_storage": _("Scan the storage location"),
    "scan_storage_or_item": _("Scan a storage location or an item."),
    "scan_tip": _("Scan a work order or operation label to open it."),
    "scrap": _("Scrap"),
    "scrap_reason": _("Scrap reason"),
    "scrap_reason_required": _("Choose why there is scrap."),
    "set_aside_n": _("{n} set aside"),
    "setaside_help": _(
        "The server refused these actions. Read what to do, then try again or discard; "
        "your team leader sees them too."
    ),
    "setaside_title": _("Set aside"),
    "sign_out": _("Sign out"),
    "sign_out_waiting": _(
        "{n} of your actions are still waiting. They stay on this device and are sent "
        "when you sign in here again."
    ),
    "state_unknown": _("Unknown"),
    "stock_at": _("Available at (tap one to take it from there):"),
    "stock_loading": _("Looking up where this material is in stock…"),
    "stock_none": _(
        "No stock of this material is known at a line-side or storage location. "
        "Check the label or ask the warehouse."
    ),
    "stock_offline": _("Offline: scan the location you take it from and enter the quantity."),
    "enter_quantity": _("Enter the quantity you take"),
    "storage_failed": _("This browser cannot keep data on the device."),
    "taken_by_other": _("{name} has accepted this operation."),
    "to_location_n": _("To {code}"),
    "to_make": _("{qty} {unit} to make"),
    "try_again": _("Try again"),
    "unknown_code": _("This code is not known."),
    "unknown_code_offline": _("This code is not known on this device (offline)."),
    "unknown_offline": _(
        "Not known on this device while offline: the action is checked when the network returns."
    ),
    "updated_at": _("Updated {time}"),
    "waiting_putaway": _("Waiting for put-away"),
    "work_center": _("Work center"),
    "log_queued": _("Saved"),
    "log_applied": _("Applied"),
    "log_replayed": _("Already applied"),
    "log_rejected": _("Set aside"),
    "log_requeued": _("Tried again"),
    "log_dismissed": _("Discarded"),
    "log_exported": _("Log exported"),
    "log_opened": _("App opened"),
    "log_signed_out": _("Signed out"),
    # A storekeeper's handheld (static/floor/stock.js): receive, transfer, count.
    "action_receive": _("Receive"),
    "action_transfer": _("Transfer"),
    "action_count": _("Count"),
    "receive_title": _("Receive goods"),
    "transfer_title": _("Transfer stock"),
    "count_title": _("Count stock"),
    "scan_receive_location": _("Scan the location the goods go to"),
    "scan_from_location": _("Scan the location you take it from"),
    "scan_to_location": _("Scan the location you put it to"),
    "scan_count_location": _("Scan the location you count"),
    "scan_stock_item": _("Scan the material or batch label"),
    "at_location_n": _("At {code}"),
    "batch_optional": _("Batch (if the label has none)"),
    "supplier_reference": _("Supplier reference (optional)"),
    "choose_count": _("Choose the count"),
    "no_open_counts": _("No count is open for counting."),
    "counts_offline": _("Offline: the counts shown are those known when last online."),
    "count_blind": _("Count what you see: the book quantity is not shown."),
    "counted_qty": _("Counted {qty} {unit}"),
    "start_again": _("Start again"),
    "same_location": _("Take it to another location than where it is."),
}


def client_strings() -> dict[str, str]:
    """Every sentence the scan app's script shows, in the request's language."""
    strings = {key: str(text) for key, text in CLIENT_STRINGS.items()}
    strings["unknown_code_hint"] = hint_for(errors.UNKNOWN_CODE.code)
    for category in FaultCategory:
        strings[f"fault_{category.value}"] = str(category.label)
    return strings
