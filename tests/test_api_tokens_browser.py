"""The API tokens page in Chromium: revoking asks first, and the new token is one click from the clipboard."""

import pytest
from playwright.sync_api import expect

from accounts.models import CustomerToken

pytestmark = pytest.mark.browser


def test_revoke_asks_first_and_the_copy_button_copies(signed_in_page, customer):
    page = signed_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/accounts/api-tokens/")
    page.get_by_label("Name").fill("deploy script")
    page.get_by_role("button", name="Create a token").click()
    token = page.get_by_test_id("new-token").inner_text().strip()

    page.get_by_role("button", name="Copy the token").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == token

    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Revoke deploy script").click()
    expect(page.get_by_role("button", name="Revoke deploy script")).to_be_visible()
    assert CustomerToken.objects.get(user=customer).revoked_at is None
    assert questions == ["Revoke the token “deploy script”? Programs that use it stop working at once."]

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="Revoke deploy script").click()
    expect(page.get_by_text("Token “deploy script” revoked.")).to_be_visible()
    assert CustomerToken.objects.get(user=customer).revoked_at is not None
