//! A leader's distribution of an incoming document (Art. 23) and the notes of its handling.

use chrono::NaiveDate;
use serde::Serialize;
use vanthu_domain::access::{Assignee, Handling};
use vanthu_domain::ValidationError;

use crate::metadata::text_newtype;

text_newtype!(
    /// Bút phê: the leader's instruction to the handlers.
    Instruction,
    "instruction",
    2000
);
text_newtype!(
    /// What a handler records about the handling: progress so far, or how it ended.
    HandlingNote,
    "note",
    2000
);
text_newtype!(
    /// Why the clerk sends a document back, for the sender to read.
    ReturnReason,
    "reason",
    500
);

/// Who handles an incoming document, what the leader instructs, and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    lead: Assignee,
    co_handlers: Vec<Assignee>,
    instruction: Instruction,
    deadline: NaiveDate,
}

impl Assignment {
    /// Most co-handlers on one document; a list longer than this is a mistake, not a
    /// distribution.
    pub const MAX_CO_HANDLERS: usize = 50;

    /// Checks that the lead is not also a co-handler, that nobody is named twice, and that
    /// the deadline is not before `today`.
    pub fn new(
        lead: Assignee,
        co_handlers: Vec<Assignee>,
        instruction: Instruction,
        deadline: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, ValidationError> {
        if co_handlers.len() > Self::MAX_CO_HANDLERS {
            return Err(ValidationError::new(
                "co_handlers",
                format!("name at most {} co-handlers", Self::MAX_CO_HANDLERS),
            ));
        }
        if co_handlers.contains(&lead) {
            return Err(ValidationError::new(
                "co_handlers",
                "the lead is in charge already; do not name them as a co-handler too",
            ));
        }
        for (i, a) in co_handlers.iter().enumerate() {
            if co_handlers[..i].contains(a) {
                return Err(ValidationError::new(
                    "co_handlers",
                    "each co-handler may be named only once",
                ));
            }
        }
        if deadline < today {
            return Err(ValidationError::new(
                "deadline",
                format!("{deadline} has passed; give a deadline from today ({today}) on"),
            ));
        }
        Ok(Self {
            lead,
            co_handlers,
            instruction,
            deadline,
        })
    }

    /// The one in charge (chủ trì).
    pub fn lead(&self) -> Assignee {
        self.lead
    }

    /// Those who support the lead (phối hợp).
    pub fn co_handlers(&self) -> &[Assignee] {
        &self.co_handlers
    }

    /// The instruction.
    pub fn instruction(&self) -> &Instruction {
        &self.instruction
    }

    /// When handling must be finished.
    pub fn deadline(&self) -> NaiveDate {
        self.deadline
    }

    /// Every assignee, the lead first.
    pub fn assignees(&self) -> impl Iterator<Item = Assignee> + '_ {
        std::iter::once(self.lead).chain(self.co_handlers.iter().copied())
    }

    /// The assignees as the access policy weighs them.
    pub fn handling(&self) -> Handling {
        Handling {
            lead: Some(self.lead),
            co_handlers: self.co_handlers.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use vanthu_domain::{UnitId, UserId};

    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn assignments_name_each_handler_once_with_a_future_deadline() {
        let department = Assignee::Unit(UnitId::new(3).unwrap());
        let person = Assignee::User(UserId::new(9).unwrap());
        let other = Assignee::User(UserId::new(10).unwrap());
        let instruction = Instruction::parse("Phòng Tài chính chủ trì, báo cáo trước hạn").unwrap();
        let today = day("2026-12-01");
        let a = Assignment::new(
            department,
            vec![person, other],
            instruction.clone(),
            day("2026-12-15"),
            today,
        )
        .unwrap();
        assert_eq!(
            a.assignees().collect::<Vec<_>>(),
            [department, person, other]
        );
        assert_eq!(a.handling().lead, Some(department));
        assert_eq!(a.deadline(), day("2026-12-15"));
        assert!(Assignment::new(person, vec![], instruction.clone(), today, today).is_ok());

        let field = |r: Result<Assignment, ValidationError>| r.unwrap_err().field;
        assert_eq!(
            field(Assignment::new(
                department,
                vec![department],
                instruction.clone(),
                today,
                today
            )),
            "co_handlers"
        );
        assert_eq!(
            field(Assignment::new(
                department,
                vec![person, person],
                instruction.clone(),
                today,
                today
            )),
            "co_handlers"
        );
        assert_eq!(
            field(Assignment::new(
                department,
                vec![],
                instruction.clone(),
                day("2026-11-30"),
                today
            )),
            "deadline"
        );
        let many = (1..=51)
            .map(|i| Assignee::User(UserId::new(100 + i).unwrap()))
            .collect();
        assert_eq!(
            field(Assignment::new(department, many, instruction, today, today)),
            "co_handlers"
        );
        assert_eq!(Instruction::parse(" ").unwrap_err().field, "instruction");
        assert!(ReturnReason::parse(&"x".repeat(501)).is_err());
        assert_eq!(HandlingNote::parse("").unwrap_err().field, "note");
    }
}
