"""Conversations over HTTP as Teams has them: what the bot really sends to the Bot Connector."""

from __future__ import annotations

from teams_fakes import Teams, actions, card_errors, payload, submits, visible_text

from bot.engine import Engine


async def test_channel_mention_gets_the_answer_card_in_the_same_thread(teams: Teams) -> None:
    activity = payload("channel_mention", teams.connector.url)

    response = await teams.post(activity)

    assert response.status == 200
    (sent,) = await teams.connector.wait_for(1)
    # a reply to the activity, in the same thread (the conversation id carries ;messageid=)
    assert sent.method == "POST"
    assert sent.conversation == activity["conversation"]["id"]
    assert ";messageid=" in sent.conversation
    assert sent.reply_to == activity["id"]
    assert sent.body["replyToId"] == activity["id"]
    card = sent.card
    assert card["version"] == "1.5"
    assert card_errors(card) == []
    assert "forgotten my password" in visible_text(card)
    assert (
        "[Unlocking your account (NHSmail support)](https://support.nhs.net/knowledge-base/unlocking-your-account/)"
        in (visible_text(card))
    )
    assert {
        "type": "Action.OpenUrl",
        "title": "Unlocking your account (NHSmail support)",
        "url": "https://support.nhs.net/knowledge-base/unlocking-your-account/",
    } in actions(card, "Action.OpenUrl")
    assert {"action": "feedback", "topic": "forgotten-password", "helpful": True} in submits(card)
    assert {"action": "feedback", "topic": "forgotten-password", "helpful": False} in submits(card)
    assert {"action": "topic", "topic": "password-recovery-call"} in submits(card)
    # plain text for notifications and for clients that cannot show the card
    assert sent.body["summary"].startswith("I've already set up my account")
    assert "Unlock Account or Forgotten Password" in card["fallbackText"]
    # the mention is gone and nothing the user typed is echoed back
    assert "<at>" not in str(sent.body)


async def test_phone_steps_question_gets_the_ivr_card_with_numbered_visible_steps(teams: Teams) -> None:
    activity = payload("personal_message", teams.connector.url)

    assert (await teams.post(activity)).status == 200

    (sent,) = await teams.connector.wait_for(1)
    card = sent.card
    assert card_errors(card) == []
    text = visible_text(card)
    assert "0333 200 1133" in text
    # every step is visible text (tel: links do nothing in Teams desktop and web)
    assert "1. Call Helpdesk 0333 200 1133" in text
    assert "3. Choose option 1 (Unable to access account)" in text
    assert "please press 1 to be transferred to an agent" in text
    assert "- Mobile number linked to the account" in text  # what to have ready
    assert "Once you have your password" in text  # and what to do after logging in
    assert "[NHSmail portal](https://portal.nhs.net/)" in text
    call = [a for a in actions(card, "Action.OpenUrl") if a["url"].startswith("tel:")]
    assert call == [
        {
            "type": "Action.OpenUrl",
            "title": "Call 0333 200 1133 (phone or tablet)",
            "url": "tel:+443332001133",
        }
    ]
    assert {"action": "feedback", "topic": "password-recovery-call", "helpful": True} in submits(card)
    assert sent.conversation == activity["conversation"]["id"]


async def test_gibberish_gets_the_fallback_with_the_helpdesk_contacts_and_the_topic_menu(
    teams: Teams,
) -> None:
    activity = payload("personal_message", teams.connector.url, text="flibbertigibbet wobble sprocket")

    assert (await teams.post(activity)).status == 200

    (sent,) = await teams.connector.wait_for(1)
    card = sent.card
    assert card_errors(card) == []
    text = visible_text(card)
    assert "not sure" in text
    assert "0333 200 1133" in text
    assert "careadmin@nhs.net" in text
    assert {
        "type": "Action.OpenUrl",
        "title": "Email careadmin@nhs.net",
        "url": "mailto:careadmin@nhs.net",
    } in actions(card, "Action.OpenUrl")
    (menu,) = [item for item in card["body"] if item["type"] == "Input.ChoiceSet"]
    assert menu["id"] == "topic"
    assert {"title": "Finding your ODS code", "value": "ods-code-find"} in menu["choices"]
    assert {"action": "topic"} in submits(card)  # the chosen topic arrives merged into this data


async def test_a_topic_chosen_from_the_fallback_menu_is_answered(teams: Teams) -> None:
    # Teams merges the card's inputs into the Submit's data: {"action": "topic"} + {"topic": <choice>}
    click = payload("card_submit", teams.connector.url, value={"action": "topic", "topic": "ods-code-find"})

    assert (await teams.post(click)).status == 200

    (sent,) = await teams.connector.wait_for(1)
    assert card_errors(sent.card) == []
    assert {"action": "feedback", "topic": "ods-code-find", "helpful": True} in submits(sent.card)


async def test_near_tie_asks_did_you_mean_and_a_click_answers_that_topic(
    teams: Teams, engine: Engine
) -> None:
    candidates = ["ods code", "email", "account", "shared mailbox", "password"]
    near_ties = [m for m in candidates if engine.reply(m).kind.value == "clarify"]
    assert near_ties, f"none of {candidates} is a near tie any more: add one that is"
    activity = payload("personal_message", teams.connector.url, text=near_ties[0])

    await teams.post(activity)

    (question,) = await teams.connector.wait_for(1)
    card = question.card
    assert card_errors(card) == []
    choices = submits(card)
    assert 2 <= len(choices) <= 3
    assert all(set(choice) == {"action", "topic"} and choice["action"] == "topic" for choice in choices)
    assert "Did you mean" in visible_text(card)

    # the click arrives as a message with the button's data as value and no text
    click = payload("card_submit", teams.connector.url, value=choices[1], replyToId="1:clarify-card")
    assert "text" not in click
    await teams.post(click)

    _, answer = await teams.connector.wait_for(2)
    assert card_errors(answer.card) == []
    assert {"action": "feedback", "topic": choices[1]["topic"], "helpful": True} in submits(answer.card)


async def test_group_chat_answers_only_when_the_bot_is_mentioned(teams: Teams) -> None:
    group = {"isGroup": True, "conversationType": "groupChat", "id": "19:meeting_NmU1@thread.v2"}
    someone = {"type": "mention", "text": "<at>Jo</at>", "mentioned": {"id": "29:someone-else", "name": "Jo"}}
    not_for_us = payload(
        "channel_mention",
        teams.connector.url,
        conversation=group,
        text="<at>Jo</at> forgotten password",
        entities=[someone],
    )
    for_us = payload("channel_mention", teams.connector.url, conversation=group)

    assert (await teams.post(not_for_us)).status == 200
    assert (await teams.post(for_us)).status == 200

    (sent,) = await teams.connector.wait_for(1)
    await teams.connector.wait_for(2, timeout=0.3)
    assert len(teams.connector.sent) == 1
    assert sent.reply_to == for_us["id"]
    assert sent.conversation == "19:meeting_NmU1@thread.v2"


async def test_empty_and_huge_messages_get_a_polite_reply_not_an_error(teams: Teams) -> None:
    empty = payload("personal_message", teams.connector.url, text="")
    huge = payload("personal_message", teams.connector.url, text="x" * 100_000)
    words = payload("personal_message", teams.connector.url, text="locked out " * 9_000)

    for activity in (empty, huge, words):
        assert (await teams.post(activity)).status == 200

    sent = await teams.connector.wait_for(3)
    assert len(sent) == 3
    assert "Please type your NHSmail question" in visible_text(sent[0].card)
    assert all(card_errors(s.card) == [] for s in sent)
    assert "xxxxxxxxxx" not in str(sent[1].body)


async def test_a_re_sent_activity_is_answered_once(teams: Teams) -> None:
    activity = payload("personal_message", teams.connector.url, text="forgotten password")

    first = await teams.post(activity)
    again = await teams.post(activity)

    assert (first.status, again.status) == (200, 200)
    await teams.connector.wait_for(2, timeout=0.3)
    assert len(teams.connector.sent) == 1


async def test_welcome_when_the_bot_is_added_but_not_for_other_new_members(teams: Teams) -> None:
    assert (await teams.post(payload("member_added", teams.connector.url))).status == 200
    await teams.connector.wait_for(1, timeout=0.3)
    assert teams.connector.sent == []

    added = payload("bot_added", teams.connector.url)
    assert (await teams.post(added)).status == 200

    (welcome,) = await teams.connector.wait_for(1)
    assert welcome.conversation == added["conversation"]["id"]
    card = welcome.card
    assert card_errors(card) == []
    assert "I answer questions about NHSmail" in visible_text(card)
    examples = submits(card)
    assert 3 <= len(examples) <= 5
    assert {"action": "topic", "topic": "forgotten-password"} in examples
    assert welcome.body["summary"]


async def test_feedback_click_updates_the_card_and_is_recorded(teams: Teams) -> None:
    click = payload(
        "card_submit",
        teams.connector.url,
        value={"action": "feedback", "topic": "forgotten-password", "helpful": True},
        replyToId="1:answer-card-id",
    )

    assert (await teams.post(click)).status == 200

    (update,) = await teams.connector.wait_for(1)
    assert update.method == "PUT"
    assert update.reply_to == "1:answer-card-id"  # the card that was clicked, edited in place
    assert update.conversation == click["conversation"]["id"]
    card = update.card
    assert card_errors(card) == []
    assert "Thanks for your feedback." in visible_text(card)
    assert not [s for s in submits(card) if s.get("action") == "feedback"]
    ((user, topic, conversation, answer), helpful) = teams.store.votes.popitem()
    assert (topic, helpful, answer) == ("forgotten-password", True, "1:answer-card-id")
    # the opaque ids, and those only as keyed hashes
    assert user == teams.store.hash(click["from"]["id"])
    assert conversation == teams.store.hash(f"teams:{click['conversation']['id']}")


async def test_feedback_click_without_a_card_to_update_gets_a_short_thank_you(teams: Teams) -> None:
    click = payload(
        "card_submit",
        teams.connector.url,
        value={"action": "feedback", "topic": "cannot-send", "helpful": False},
    )
    del click["replyToId"]

    assert (await teams.post(click)).status == 200

    (ack,) = await teams.connector.wait_for(1)
    assert ack.method == "POST"
    assert card_errors(ack.card) == []
    assert visible_text(ack.card) == "Thanks for your feedback."
    assert teams.votes == [("cannot-send", False)]


async def test_an_unknown_topic_or_foreign_card_data_does_not_break_the_turn(teams: Teams) -> None:
    unknown = payload("card_submit", teams.connector.url, value={"action": "topic", "topic": "no-such-topic"})
    foreign = payload("card_submit", teams.connector.url, value={"verb": "approve", "id": 7})

    assert (await teams.post(unknown)).status == 200
    assert (await teams.post(foreign)).status == 200

    fallback, prompt = await teams.connector.wait_for(2)
    assert "not sure" in visible_text(fallback.card)
    assert "Please type your NHSmail question" in visible_text(prompt.card)


async def test_markup_typed_by_the_user_is_never_echoed(teams: Teams) -> None:
    text = "<at>NHSmail Bot</at> [click me](https://evil.example/) **${text}** <script>x</script> ZQXJ"
    await teams.post(payload("channel_mention", teams.connector.url, text=text))

    (sent,) = await teams.connector.wait_for(1)
    body = str(sent.body)
    assert "evil.example" not in body
    assert "ZQXJ" not in body
    assert "${" not in body
    assert "<script>" not in body


async def test_a_channel_message_without_the_bots_mention_gets_no_reply(teams: Teams) -> None:
    activity = payload("channel_mention", teams.connector.url, text="forgotten password", entities=[])

    assert (await teams.post(activity)).status == 200

    await teams.connector.wait_for(1, timeout=0.3)
    assert teams.connector.sent == []


async def test_feedback_for_an_unknown_topic_is_thanked_but_not_recorded(teams: Teams) -> None:
    click = payload(
        "card_submit", teams.connector.url, value={"action": "feedback", "topic": "made-up", "helpful": True}
    )

    assert (await teams.post(click)).status == 200

    (ack,) = await teams.connector.wait_for(1)
    assert visible_text(ack.card) == "Thanks for your feedback."
    assert teams.votes == []


async def test_when_the_card_cannot_be_updated_the_feedback_is_thanked_in_a_reply(teams: Teams) -> None:
    # the connector refuses the update (e.g. the card was deleted); the user still hears back
    click = payload(
        "card_submit",
        teams.connector.url,
        value={"action": "feedback", "topic": "apply", "helpful": True},
        replyToId="1:deleted-card",
    )
    teams.connector.fail_updates = True

    assert (await teams.post(click)).status == 200

    update, ack = await teams.connector.wait_for(2)
    assert (update.method, ack.method) == ("PUT", "POST")
    assert visible_text(ack.card) == "Thanks for your feedback."
    assert teams.votes == [("apply", True)]
