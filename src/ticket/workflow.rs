//! The case-loop transition table: which action may happen in which status, and where it leads.
//!
//! Every change to a ticket goes through [`check`], so the rules live in one
//! table that tests can walk exhaustively instead of in scattered `if`s.

use super::model::{Status, TicketId};

/// Something done to an existing ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    Supplement,
    Confirm,
    NotFixed,
    Rate,
    Withdraw,
    Claim,
    Assign,
    Progress,
    Resolve,
    Reject,
    Transfer,
    /// This ticket is merged into another one.
    Merge,
    /// Another ticket is merged into this one (the target side of 合并, and
    /// automatic duplicates).
    Absorb,
    Hold,
    Reopen,
    Recategorize,
    Note,
    /// 核查结案 by the timer: the reporter never answered the 办结 reply.
    AutoClose,
    /// `#非投诉`: not a complaint after all; closed as 不予受理.
    NotComplaint,
    /// The SLA timer reminds the owner (75%).
    Remind,
    /// The SLA timer marks it 超时 and raises it a level.
    Escalate,
    /// `#复查 N 3天`: schedule a re-inspection (回马枪).
    Recheck,
    /// The re-inspection reminder is due (timer).
    RecheckDue,
    RecheckPass,
    /// The problem is back: reopened as recurring.
    RecheckFound,
    /// `#回访 N 满意`: the 回访 task ends.
    RevisitDone,
    /// `#回访 N 不满意`: the task ends and the case goes back to work.
    RevisitFailed,
}

impl Act {
    pub const ALL: [Act; 27] = [
        Act::Supplement,
        Act::Confirm,
        Act::NotFixed,
        Act::Rate,
        Act::Withdraw,
        Act::Claim,
        Act::Assign,
        Act::Progress,
        Act::Resolve,
        Act::Reject,
        Act::Transfer,
        Act::Merge,
        Act::Absorb,
        Act::Hold,
        Act::Reopen,
        Act::Recategorize,
        Act::Note,
        Act::AutoClose,
        Act::NotComplaint,
        Act::Remind,
        Act::Escalate,
        Act::Recheck,
        Act::RecheckDue,
        Act::RecheckPass,
        Act::RecheckFound,
        Act::RevisitDone,
        Act::RevisitFailed,
    ];

    /// The verb used in refusals: "#1024 已办结，不能再认领".
    pub fn verb(self) -> &'static str {
        match self {
            Act::Supplement => "补充",
            Act::Confirm => "确认",
            Act::NotFixed => "反馈未解决",
            Act::Rate => "评价",
            Act::Withdraw => "撤回",
            Act::Claim => "认领",
            Act::Assign => "派遣",
            Act::Progress => "处理",
            Act::Resolve => "办结",
            Act::Reject => "驳回",
            Act::Transfer => "转办",
            Act::Merge => "合并",
            Act::Absorb => "并入其他工单",
            Act::Hold => "挂账",
            Act::Reopen => "重开",
            Act::Recategorize => "改类",
            Act::Note => "备注",
            Act::AutoClose => "自动结案",
            Act::NotComplaint => "标记为非投诉",
            Act::Remind => "临期提醒",
            Act::Escalate => "超时升级",
            Act::Recheck => "安排复查",
            Act::RecheckDue => "复查提醒",
            Act::RecheckPass => "复查通过",
            Act::RecheckFound => "复查重开",
            Act::RevisitDone => "登记回访",
            Act::RevisitFailed => "回访后重开",
        }
    }
}

/// Where an allowed action leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Status does not change (notes, ratings, supplements).
    Same,
    To(Status),
    /// Back to work (回马枪 or 重开): `assigned` if an officer owns it, else `open`.
    Reopen,
}

use Status::*;

const LIVE: &[Status] = &[Open, Assigned, InProgress, OnHold];
const WORKING: &[Status] = &[Open, Assigned, InProgress];
const DONE: &[Status] = &[Resolved, Closed];
const FOLLOWED: &[Status] = &[Open, Assigned, InProgress, OnHold, Resolved, Closed];

/// The one table. A (status, action) pair not listed here is refused.
pub const TABLE: &[(Act, &[Status], Target)] = &[
    // Residents may add details while someone can still act on them, and
    // right after resolution when they are checking the result.
    (
        Act::Supplement,
        &[Open, Assigned, InProgress, OnHold, Resolved],
        Target::Same,
    ),
    // 核查结案: resolved → closed, by the reporter or, when they never
    // answer, by the timer.
    (Act::Confirm, &[Resolved], Target::To(Closed)),
    (Act::AutoClose, &[Resolved], Target::To(Closed)),
    // 回马枪: the reporter says it is not fixed, also shortly after closing.
    (Act::NotFixed, &[Resolved, Closed], Target::Reopen),
    (Act::Rate, &[Resolved, Closed], Target::Same),
    (Act::Withdraw, LIVE, Target::To(Closed)),
    // Claiming an assigned ticket is a hand-over between officers.
    (Act::Claim, &[Open, Assigned], Target::To(Assigned)),
    (Act::Assign, WORKING, Target::To(Assigned)),
    (Act::Progress, WORKING, Target::To(InProgress)),
    (Act::Resolve, WORKING, Target::To(Resolved)),
    (Act::Reject, LIVE, Target::To(Rejected)),
    // A false ticket ends like a rejection, whatever work had begun.
    (Act::NotComplaint, LIVE, Target::To(Rejected)),
    // A new department must dispatch it again, so the owner is cleared.
    (Act::Transfer, LIVE, Target::To(Open)),
    (Act::Merge, LIVE, Target::To(Duplicate)),
    (Act::Absorb, LIVE, Target::Same),
    (Act::Hold, WORKING, Target::To(OnHold)),
    (
        Act::Reopen,
        &[OnHold, Resolved, Closed, Rejected],
        Target::Reopen,
    ),
    (
        Act::Recategorize,
        &[Open, Assigned, InProgress, OnHold, Resolved],
        Target::Same,
    ),
    (Act::Note, &Status::ALL, Target::Same),
    // SLA timers act only while someone is working on it: 挂账 pauses the
    // clock, and a finished ticket has nothing left to run late.
    (Act::Remind, WORKING, Target::Same),
    (Act::Escalate, WORKING, Target::Same),
    // 回马枪: an officer comes back after the fix to see it has not returned.
    (Act::Recheck, DONE, Target::Same),
    (Act::RecheckDue, DONE, Target::Same),
    (Act::RecheckPass, DONE, Target::Same),
    (Act::RecheckFound, DONE, Target::Reopen),
    // 回访 results: a task is opened on a finished case (a poor rating) or
    // one back at work (a second 未解决); an unhappy resident reopens a
    // finished one, and one still at work stays where it is.
    (Act::RevisitDone, FOLLOWED, Target::Same),
    (Act::RevisitFailed, LIVE, Target::Same),
    (Act::RevisitFailed, DONE, Target::Reopen),
];

/// Looks up an action in the table; `Err` carries the Chinese refusal.
pub fn check(id: TicketId, status: Status, act: Act) -> Result<Target, String> {
    TABLE
        .iter()
        .find(|(a, from, _)| *a == act && from.contains(&status))
        .map(|(_, _, t)| *t)
        .ok_or_else(|| refusal(id, status, act))
}

/// Resolves the target against the ticket's owner.
pub fn target_status(current: Status, target: Target, has_officer: bool) -> Status {
    match target {
        Target::Same => current,
        Target::To(s) => s,
        Target::Reopen if has_officer => Assigned,
        Target::Reopen => Open,
    }
}

fn refusal(id: TicketId, status: Status, act: Act) -> String {
    // "再" only reads right once the ticket is past the point where the action made sense.
    let again = matches!(status, Resolved | Closed | Rejected | Duplicate);
    let label = match status {
        Duplicate => "已合并到其他工单",
        s => s.label(),
    };
    format!(
        "{id} {label}，不能{}{}",
        if again { "再" } else { "" },
        act.verb()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> TicketId {
        TicketId::new(1024).expect("nonzero")
    }

    /// The complete expected matrix, written out independently of TABLE so that
    /// a careless edit to the table shows up here.
    #[test]
    fn full_transition_matrix() {
        use Target::To;
        let allowed: &[(Act, Status, Target)] = &[
            (Act::Supplement, Open, Target::Same),
            (Act::Supplement, Assigned, Target::Same),
            (Act::Supplement, InProgress, Target::Same),
            (Act::Supplement, OnHold, Target::Same),
            (Act::Supplement, Resolved, Target::Same),
            (Act::Confirm, Resolved, To(Closed)),
            (Act::AutoClose, Resolved, To(Closed)),
            (Act::NotFixed, Resolved, Target::Reopen),
            (Act::NotFixed, Closed, Target::Reopen),
            (Act::Rate, Resolved, Target::Same),
            (Act::Rate, Closed, Target::Same),
            (Act::Withdraw, Open, To(Closed)),
            (Act::Withdraw, Assigned, To(Closed)),
            (Act::Withdraw, InProgress, To(Closed)),
            (Act::Withdraw, OnHold, To(Closed)),
            (Act::Claim, Open, To(Assigned)),
            (Act::Claim, Assigned, To(Assigned)),
            (Act::Assign, Open, To(Assigned)),
            (Act::Assign, Assigned, To(Assigned)),
            (Act::Assign, InProgress, To(Assigned)),
            (Act::Progress, Open, To(InProgress)),
            (Act::Progress, Assigned, To(InProgress)),
            (Act::Progress, InProgress, To(InProgress)),
            (Act::Resolve, Open, To(Resolved)),
            (Act::Resolve, Assigned, To(Resolved)),
            (Act::Resolve, InProgress, To(Resolved)),
            (Act::Reject, Open, To(Rejected)),
            (Act::Reject, Assigned, To(Rejected)),
            (Act::Reject, InProgress, To(Rejected)),
            (Act::Reject, OnHold, To(Rejected)),
            (Act::NotComplaint, Open, To(Rejected)),
            (Act::NotComplaint, Assigned, To(Rejected)),
            (Act::NotComplaint, InProgress, To(Rejected)),
            (Act::NotComplaint, OnHold, To(Rejected)),
            (Act::Transfer, Open, To(Open)),
            (Act::Transfer, Assigned, To(Open)),
            (Act::Transfer, InProgress, To(Open)),
            (Act::Transfer, OnHold, To(Open)),
            (Act::Merge, Open, To(Duplicate)),
            (Act::Merge, Assigned, To(Duplicate)),
            (Act::Merge, InProgress, To(Duplicate)),
            (Act::Merge, OnHold, To(Duplicate)),
            (Act::Absorb, Open, Target::Same),
            (Act::Absorb, Assigned, Target::Same),
            (Act::Absorb, InProgress, Target::Same),
            (Act::Absorb, OnHold, Target::Same),
            (Act::Hold, Open, To(OnHold)),
            (Act::Hold, Assigned, To(OnHold)),
            (Act::Hold, InProgress, To(OnHold)),
            (Act::Reopen, OnHold, Target::Reopen),
            (Act::Reopen, Resolved, Target::Reopen),
            (Act::Reopen, Closed, Target::Reopen),
            (Act::Reopen, Rejected, Target::Reopen),
            (Act::Recategorize, Open, Target::Same),
            (Act::Recategorize, Assigned, Target::Same),
            (Act::Recategorize, InProgress, Target::Same),
            (Act::Recategorize, OnHold, Target::Same),
            (Act::Recategorize, Resolved, Target::Same),
            (Act::Remind, Open, Target::Same),
            (Act::Remind, Assigned, Target::Same),
            (Act::Remind, InProgress, Target::Same),
            (Act::Escalate, Open, Target::Same),
            (Act::Escalate, Assigned, Target::Same),
            (Act::Escalate, InProgress, Target::Same),
            (Act::Recheck, Resolved, Target::Same),
            (Act::Recheck, Closed, Target::Same),
            (Act::RecheckDue, Resolved, Target::Same),
            (Act::RecheckDue, Closed, Target::Same),
            (Act::RecheckPass, Resolved, Target::Same),
            (Act::RecheckPass, Closed, Target::Same),
            (Act::RecheckFound, Resolved, Target::Reopen),
            (Act::RecheckFound, Closed, Target::Reopen),
            (Act::RevisitDone, Open, Target::Same),
            (Act::RevisitDone, Assigned, Target::Same),
            (Act::RevisitDone, InProgress, Target::Same),
            (Act::RevisitDone, OnHold, Target::Same),
            (Act::RevisitDone, Resolved, Target::Same),
            (Act::RevisitDone, Closed, Target::Same),
            (Act::RevisitFailed, Open, Target::Same),
            (Act::RevisitFailed, Assigned, Target::Same),
            (Act::RevisitFailed, InProgress, Target::Same),
            (Act::RevisitFailed, OnHold, Target::Same),
            (Act::RevisitFailed, Resolved, Target::Reopen),
            (Act::RevisitFailed, Closed, Target::Reopen),
        ];
        let mut checked = 0;
        for act in Act::ALL {
            for status in Status::ALL {
                let want = if act == Act::Note {
                    Some(Target::Same)
                } else {
                    allowed
                        .iter()
                        .find(|(a, s, _)| *a == act && *s == status)
                        .map(|(_, _, t)| *t)
                };
                let got = check(id(), status, act);
                match want {
                    Some(t) => assert_eq!(got, Ok(t), "{act:?} from {status:?}"),
                    None => {
                        let msg = got.expect_err("should be refused");
                        assert!(msg.starts_with("#1024 "), "{msg}");
                        assert!(msg.contains(act.verb()), "{msg}");
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, Act::ALL.len() * Status::ALL.len());
    }

    #[test]
    fn refusal_wording() {
        assert_eq!(
            check(id(), Resolved, Act::Claim),
            Err("#1024 已办结，不能再认领".to_string())
        );
        assert_eq!(
            check(id(), Open, Act::Confirm),
            Err("#1024 已受理，不能确认".to_string())
        );
    }

    #[test]
    fn reopen_target_depends_on_officer() {
        assert_eq!(target_status(Resolved, Target::Reopen, true), Assigned);
        assert_eq!(target_status(Resolved, Target::Reopen, false), Open);
        assert_eq!(target_status(Open, Target::Same, false), Open);
        assert_eq!(target_status(Open, Target::To(Closed), false), Closed);
    }
}
