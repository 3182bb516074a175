"""The conference bridge between a caller and their agent, and the agent's hold.

A caller reaches an agent by the contact centre's queue (``<Dial><Queue url=...>`` dequeues
them, and the queue's ``url`` tells us the agent's leg) or by ``<Dial><Number>`` (the whisper
tells us). That first bridge is a plain one, which breaks as soon as either leg is moved. So
when the agent takes the call in the console, the agent's leg is moved into a conference named
for the call (:func:`flows.agent.conference_name`); the caller's leg, left alone, follows its
``<Enqueue>``/``<Dial>`` action into the same conference. From then on the caller's leg can go
to card capture and come back while the agent stays in the room, on hold with music: held
before the caller is moved, taken off hold when Twilio reports the caller back in the room
(or when the caller hangs up). Holds and unholds are audited (``agent.hold``/``agent.unhold``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from flows import agent_capture
from flows.agent import ConsoleRefusedError, conference_name, latest_capture
from ivr import audit, logs
from ivr.adapters.telephony import Telephony, TelephonyError
from ivr.channels.twiml import bridge
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import AgentCall, AgentCallStatus

log = logging.getLogger("ivr.channels.bridge")
AGENT_BRIDGE_URL = "/voice/agent-bridge"
AGENT_HOLD_URL = "/voice/agent-hold"
JOINED = "participant-join"


def _locked(db: Session, criterion: ColumnElement[bool]) -> AgentCall | None:
    return db.scalars(select(AgentCall).where(criterion).with_for_update()).one_or_none()


def _capture_over(db: Session, handoff: AgentCall) -> bool:
    """The agent is held and their caller's capture has ended: a join by the caller now is
    their return. (Their first join can reach us after the agent was already held for a
    capture that has only just begun; that one must not end the hold.)"""
    if not handoff.agent_held:
        return False
    capture = latest_capture(db, handoff)
    return capture is None or capture.status in agent_capture.FINAL


@dataclass(frozen=True)
class AgentBridge:
    factory: sessionmaker[Session]
    settings: Settings
    telephony: Telephony

    def _url(self, path: str) -> str:
        return self.settings.PUBLIC_BASE_URL.rstrip("/") + path

    def connected(self, call_sid: str, agent_call_sid: str) -> None:
        """The agent's leg ``agent_call_sid`` now talks to caller ``call_sid`` (dequeued or
        dialled): remember it, so taking the call can move it into the conference. An agent
        who took the call in the console before their phone rang through is moved now."""
        with transaction(self.factory) as db:
            handoff = _locked(db, AgentCall.call_sid == call_sid)
            if handoff is None or handoff.bridged or not agent_call_sid:
                return
            handoff.agent_call_sid = agent_call_sid
            taken = handoff.id if handoff.status is AgentCallStatus.CLAIMED else None
        logs.event(log, "bridge.agent_connected", call=call_sid, agent_leg=agent_call_sid)
        if taken is not None:
            self.join(taken)

    def join(self, handoff_id: int) -> None:
        """Move the agent's leg into the call's conference (after the claim committed). The
        caller follows by the action of the verb that connected them. Without a known agent
        leg yet, nothing moves: :meth:`connected` does it when the agent's phone rings through."""
        with transaction(self.factory) as db:
            handoff = db.get(AgentCall, handoff_id, with_for_update=True)
            if handoff is None or handoff.bridged or handoff.agent_call_sid is None:
                return
            handoff.bridged = True
            agent_leg = handoff.agent_call_sid
        try:
            self.telephony.redirect_call(agent_leg, self._url(AGENT_BRIDGE_URL))
        except TelephonyError as error:
            with transaction(self.factory) as db:
                row = db.get(AgentCall, handoff_id, with_for_update=True)
                if row is not None:
                    row.bridged = False
            raise ConsoleRefusedError(str(error)) from error
        logs.event(log, "bridge.joined", handoff=handoff_id)

    def caller_twiml(self, call_sid: str) -> str:
        """The caller's leg after its first bridge ended: into the conference if the agent
        took it there, else the call is over (the agent hung up)."""
        with transaction(self.factory) as db:
            handoff = _locked(db, AgentCall.call_sid == call_sid)
            ended = handoff is None or handoff.status is AgentCallStatus.ENDED
            live = handoff is not None and handoff.bridged and not ended
        return bridge(conference_name(call_sid) if live else None, "caller")

    def agent_twiml(self, agent_call_sid: str) -> str:
        """The agent's leg, moved by :meth:`join`: into its caller's conference."""
        with transaction(self.factory) as db:
            handoff = _locked(db, AgentCall.agent_call_sid == agent_call_sid)
            name = conference_name(handoff.call_sid) if handoff and handoff.bridged else None
        return bridge(name, "agent")

    def conference_event(
        self, event: str, conference_sid: str, friendly_name: str, call_sid: str
    ) -> None:
        """Twilio's conference status callback: learn the room's sid (the Participants API
        wants it), and take the agent off hold once their caller is back in the room."""
        caller = friendly_name.removeprefix(conference_name(""))
        with transaction(self.factory) as db:
            handoff = _locked(db, AgentCall.call_sid == caller)
            if handoff is None or not handoff.bridged:
                return
            handoff.conference_sid = conference_sid
            back = event == JOINED and call_sid == caller and _capture_over(db, handoff)
        if back:
            self.unhold(caller)

    def hold(self, call_sid: str, actor: str) -> None:
        """Put the agent on hold with music, before the caller's leg leaves the room (the
        capture already marked the hold). If Twilio refuses, the mark is undone and it raises."""
        with transaction(self.factory) as db:
            handoff = _locked(db, AgentCall.call_sid == call_sid)
            assert handoff is not None and handoff.conference_sid and handoff.agent_call_sid
            target = handoff.id, handoff.conference_sid, handoff.agent_call_sid
        handoff_id, conference, agent_leg = target
        try:
            self.telephony.hold_participant(conference, agent_leg, self._url(AGENT_HOLD_URL))
        except TelephonyError:
            self._record(handoff_id, call_sid, "agent.hold", actor, "failed", held=False)
            raise
        self._record(handoff_id, call_sid, "agent.hold", actor, "success")

    def unhold(self, call_sid: str) -> None:
        """Take caller ``call_sid``'s agent off hold, if held: the caller is back in the room,
        or gone. A conference that has already ended is logged, not raised."""
        with transaction(self.factory) as db:
            handoff = _locked(db, AgentCall.call_sid == call_sid)
            if handoff is None or not handoff.agent_held:
                return
            handoff.agent_held = False
            target = handoff.id, handoff.conference_sid, handoff.agent_call_sid
        handoff_id, conference, agent_leg = target
        outcome = "success"
        try:
            if conference and agent_leg:
                self.telephony.hold_participant(conference, agent_leg)
        except TelephonyError as error:
            outcome = "failed"
            logs.event(log, "bridge.unhold_failed", logging.ERROR, call=call_sid, error=error)
        self._record(handoff_id, call_sid, "agent.unhold", "system", outcome)

    def _record(
        self,
        handoff_id: int,
        call_sid: str,
        action: str,
        actor: str,
        outcome: str,
        held: bool | None = None,
    ) -> None:
        with transaction(self.factory) as db:
            if held is not None:
                handoff = db.get(AgentCall, handoff_id, with_for_update=True)
                if handoff is not None:
                    handoff.agent_held = held
            audit.record(
                db,
                action,
                actor=actor,
                outcome=outcome,
                resource=f"agent_call:{handoff_id}",
                origin=f"call:{call_sid}",
            )
        logs.event(log, action, call=call_sid, outcome=outcome)
