//! One method per event of the consent state machine: what `Call::apply` does with each, on
//! the copy of the call it returns.

use super::*;

impl Call {
    /// A proposed call: taken up (by `Take`, or by telling the representative), or forgotten
    /// (dismissed, hung up, stopped); nothing else happens before it is taken up.
    pub(super) fn while_proposed(
        &mut self,
        event: &Event,
        at: Stamp,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        match event {
            Event::Take => {
                self.take(at);
                Ok(())
            }
            Event::Notice(by) => {
                self.take(at);
                self.on_notice(*by, at, fx)
            }
            Event::Dismiss | Event::HangUp(_) | Event::Stop => {
                fx.push(Effect::Forget);
                Ok(())
            }
            Event::Consent(_) | Event::Start => Err(Refusal::NoticeRequired(
                "the call is only proposed: tell the representative it is recorded first (onrecordctl call notice)".into(),
            )),
            Event::Mark(_)
            | Event::Confirm
            | Event::Pause
            | Event::Resume
            | Event::Transfer { .. }
            | Event::Withdraw
            | Event::Interrupt => Err(Refusal::WrongState(
                "the call is only proposed: take it up (onrecordctl call take) or tell the representative (onrecordctl call notice) first".into(),
            )),
        }
    }

    fn take(&mut self, at: Stamp) {
        self.state = CallState::AwaitingNotice;
        let what = match &self.detected {
            Some(d) => format!("taken up: {}", d.describe()),
            None => "taken up".into(),
        };
        self.log(at, TimelineKind::Taken, what);
    }

    /// The call ended where it happens: a recording stops (and is sealed), as on `Stop`.
    pub(super) fn on_hang_up(&mut self, why: &str, at: Stamp, fx: &mut Vec<Effect>) {
        self.end(
            CallState::Stopped,
            at,
            TimelineKind::Stopped,
            format!("the call ended: {why}"),
            fx,
        );
    }

    /// The present parties who were not told have been, by `by`.
    pub(super) fn on_notice(
        &mut self,
        by: NoticeBy,
        at: Stamp,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let pending: Vec<usize> = self
            .present()
            .filter(|&i| self.parties[i].notice == Told::No)
            .collect();
        if pending.is_empty() {
            return Err(Refusal::WrongState(
                "everyone on the call has been told already".into(),
            ));
        }
        for &i in &pending {
            self.parties[i].notice = Told::from(by);
        }
        let who = self.names(&pending);
        self.settle(at, TimelineKind::Notice, format!("{who} told, by {by}"), fx);
        Ok(())
    }

    /// The answer of the present parties who were told and not yet asked.
    pub(super) fn on_consent(
        &mut self,
        yes: bool,
        at: Stamp,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        use CallState::*;
        let asked: Vec<usize> = self
            .present()
            .filter(|&i| {
                self.parties[i].notice != Told::No && self.parties[i].consent == Answer::None
            })
            .collect();
        if asked.is_empty() {
            if self.present().any(|i| self.parties[i].notice == Told::No) {
                return Err(Refusal::NoticeRequired(
                    "tell the representative the call is recorded before asking for consent (onrecordctl call notice)".into(),
                ));
            }
            return Err(Refusal::WrongState(
                "everyone on the call has answered already".into(),
            ));
        }
        let answer = if yes { Answer::Yes } else { Answer::No };
        for &i in &asked {
            self.parties[i].consent = answer;
        }
        let who = self.names(&asked);
        if yes {
            self.settle(at, TimelineKind::Consent, format!("{who} consented"), fx);
        } else {
            self.end(
                Refused,
                at,
                TimelineKind::Refused,
                format!("{who} refused consent: this call can never be recorded"),
                fx,
            );
        }
        Ok(())
    }

    /// Recording starts, if the law and the answers allow it.
    pub(super) fn on_start(&mut self, at: Stamp, fx: &mut Vec<Effect>) -> Result<(), Refusal> {
        use CallState::*;
        match self.state {
            AwaitingNotice | AwaitingConsent | Ready => {
                self.may_record()?;
                self.started_us = at.utc_us;
                self.stretch_start_mono = Some(at.mono_us);
                self.state = Recording;
                fx.extend([Effect::StartCapture, Effect::Notify(Notice::Started)]);
                let basis = self.consent_basis();
                self.log(
                    at,
                    TimelineKind::Started,
                    format!("recording started ({basis})"),
                );
            }
            Recording => {
                return Err(Refusal::WrongState("the call is already recording".into()));
            }
            Paused | Held => {
                return Err(Refusal::WrongState(
                    "recording has started: use resume".into(),
                ));
            }
            Stopped | Refused | Withdrawn | Interrupted => {
                unreachable!("ended calls return above")
            }
            Proposed => unreachable!("proposed calls are handled by while_proposed"),
        };
        Ok(())
    }

    /// The representative confirmed consent on the recording.
    pub(super) fn on_confirm(&mut self, at: Stamp) -> Result<(), Refusal> {
        use CallState::*;
        if self.state != Recording {
            return Err(Refusal::WrongState(format!(
                "confirm is for a call that is recording; it is {}",
                self.state
            )));
        }
        self.log(
            at,
            TimelineKind::Confirmed,
            "the representative confirmed consent on the recording".into(),
        );
        Ok(())
    }

    /// A note at this moment.
    pub(super) fn on_mark(&mut self, text: &str, at: Stamp) -> Result<(), Refusal> {
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_MARK || text.chars().any(char::is_control) {
            return Err(Refusal::Invalid(format!(
                "a mark is one line of 1 to {MAX_MARK} bytes"
            )));
        }
        self.log(at, TimelineKind::Mark, text.to_owned());
        Ok(())
    }

    /// A gap in the recording, by the user.
    pub(super) fn on_pause(&mut self, at: Stamp, fx: &mut Vec<Effect>) -> Result<(), Refusal> {
        use CallState::*;
        if self.state != Recording {
            return Err(Refusal::WrongState(format!(
                "pause is for a call that is recording; it is {}",
                self.state
            )));
        }
        self.stop_stretch(at);
        self.state = Paused;
        fx.extend([Effect::PauseCapture, Effect::Notify(Notice::Paused)]);
        self.log(at, TimelineKind::Paused, "recording paused".into());
        Ok(())
    }

    /// The end of a pause or a hold, if the law and the answers allow it.
    pub(super) fn on_resume(&mut self, at: Stamp, fx: &mut Vec<Effect>) -> Result<(), Refusal> {
        use CallState::*;
        if !matches!(self.state, Paused | Held) {
            return Err(Refusal::WrongState(format!(
                "resume is for a paused call; it is {}",
                self.state
            )));
        }
        self.may_record()?;
        self.resume(at, fx);
        Ok(())
    }

    /// New parties replace the present ones; the law is decided again for everyone.
    pub(super) fn on_transfer(
        &mut self,
        parties: &[Party],
        decision: &Decision,
        at: Stamp,
        fx: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        use CallState::*;
        if parties.is_empty() {
            return Err(Refusal::Invalid(
                "name the party the call is transferred to".into(),
            ));
        }
        for i in self.present().collect::<Vec<_>>() {
            self.parties[i].present = false;
        }
        let first_new = self.parties.len();
        self.parties.extend(parties.iter().cloned().map(joined));
        self.tighten(decision);
        let who = self.names(&(first_new..self.parties.len()).collect::<Vec<_>>());
        let detail = format!(
            "transferred to {who}; requirement {}",
            self.decision.requirement
        );
        if self.state == Recording {
            self.stop_stretch(at);
            self.state = Held;
            fx.extend([Effect::PauseCapture, Effect::Notify(Notice::Paused)]);
            self.log(at, TimelineKind::Transfer, detail);
            self.log(
                at,
                TimelineKind::Held,
                "recording held until the new party has been told and has consented".into(),
            );
        } else {
            self.settle(at, TimelineKind::Transfer, detail, fx);
        }
        Ok(())
    }

    /// Consent withdrawn: recording stops for good.
    pub(super) fn on_withdraw(&mut self, at: Stamp, fx: &mut Vec<Effect>) -> Result<(), Refusal> {
        use CallState::*;
        self.end(
            Withdrawn,
            at,
            TimelineKind::Withdrawn,
            "consent withdrawn: recording stopped for good".into(),
            fx,
        );
        Ok(())
    }

    /// The call ends.
    pub(super) fn on_stop(&mut self, at: Stamp, fx: &mut Vec<Effect>) -> Result<(), Refusal> {
        use CallState::*;
        self.end(
            Stopped,
            at,
            TimelineKind::Stopped,
            "the call was stopped".into(),
            fx,
        );
        Ok(())
    }

    /// The daemon died while the call was capturing.
    pub(super) fn on_interrupt(&mut self, at: Stamp, fx: &mut Vec<Effect>) -> Result<(), Refusal> {
        use CallState::*;
        if !self.state.is_capturing() {
            return Err(Refusal::WrongState(format!(
                "only a capturing call can be interrupted; it is {}",
                self.state
            )));
        }
        // The daemon died mid-capture: StopCapture finalizes what reached the disk.
        self.end(
            Interrupted,
            at,
            TimelineKind::Interrupted,
            "the daemon stopped while the call was recording".into(),
            fx,
        );
        Ok(())
    }
}
