"""An agent attaches a screenshot to a reply and the thread shows its thumbnail, in a browser."""

import pytest

from tests.attachments.conftest import PDF, PNG, attachment_dir  # noqa: F401 - files in a tmp folder
from tests.e2e.conftest import login
from tests.factories import ContactFactory, TicketFactory
from tickets.models import Message, TicketStatus

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_the_thread_shows_the_thumbnail_of_an_attached_image(page, live_server, console_agent, tmp_path):
    ticket = TicketFactory(status=TicketStatus.OPEN, contact=ContactFactory(email="dana@example.com"))
    (tmp_path / "screen.png").write_bytes(PNG)
    (tmp_path / "notes.pdf").write_bytes(PDF)

    login(page, live_server, console_agent)
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")
    page.fill("#id_reply", "Here is what I see.")
    page.set_input_files("#id_reply_files", [str(tmp_path / "screen.png"), str(tmp_path / "notes.pdf")])
    page.click("input[name=_continue]")
    assert "was changed successfully" in page.inner_text("ul.messagelist")

    reply = Message.objects.get(ticket=ticket, direction="outbound")
    image, pdf = reply.attachments.all()
    assert (image.content_type, pdf.content_type) == ("image/png", "application/pdf")
    thumbnail = page.locator(f"#message-{reply.pk} img.thumbnail")
    thumbnail.wait_for()
    assert thumbnail.count() == 1  # the PDF gets a link, not a thumbnail
    # The image really loaded through the agent's session (a 401 would leave it 0 wide).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.get_attribute("src") == f"/v1/attachments/{image.pk}/thumbnail"  # made by the server
    links = page.locator(f"#message-{reply.pk} a.download")
    assert links.all_inner_texts() == ["screen.png", "notes.pdf"]
