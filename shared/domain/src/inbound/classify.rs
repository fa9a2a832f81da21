//! What a reply means. [`ReplyClassifier`] is the seam: [`RulesClassifier`]
//! is deterministic, offline and explains itself; a model-backed classifier
//! can sit behind the same trait without the caller changing.

use super::dates::{self, ReturnDate};
use super::rules::{self, ClassRule, PRECEDENCE};
use super::{BounceInfo, Confidence, MessageKind, Referral, ReplyClass};
use chrono::{DateTime, FixedOffset};

/// What a classifier is given: the message already sorted by kind, with its
/// visible text.
#[derive(Debug, Clone, Copy)]
pub struct ReplyFacts<'a> {
    pub kind: MessageKind,
    pub subject: &'a str,
    /// What the person wrote, without history and signatures.
    pub visible_text: &'a str,
    /// The whole body as text (bounded), for classifiers that want context.
    pub full_text: &'a str,
    pub date: Option<DateTime<FixedOffset>>,
    pub bounce: Option<&'a BounceInfo>,
    /// The sender's address (lower case), so a referral is not the sender.
    pub from: Option<&'a str>,
}

/// A classifier's answer. [`super::analyze`] keeps `return_date` only for
/// out-of-office and `referral` only for wrong-person, and refuses classes that
/// do not fit the message's kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub classification: ReplyClass,
    pub confidence: Confidence,
    pub rationale: Vec<String>,
    pub return_date: Option<chrono::NaiveDate>,
    pub referral: Option<Referral>,
}

pub trait ReplyClassifier: Send + Sync {
    fn classify(&self, facts: &ReplyFacts<'_>) -> Verdict;
}

/// The rules in [`super::rules`], nothing else: the same input always gives the
/// same verdict, and the rationale names every rule that fired.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesClassifier;

impl ReplyClassifier for RulesClassifier {
    fn classify(&self, facts: &ReplyFacts<'_>) -> Verdict {
        match facts.kind {
            MessageKind::Bounce => bounce(facts),
            MessageKind::AutoReply => auto_reply(facts),
            MessageKind::Human => human(facts),
        }
    }
}

fn bounce(facts: &ReplyFacts<'_>) -> Verdict {
    let rationale = match facts.bounce.and_then(|b| b.status) {
        Some(status) => vec![format!("bounce with status {status}")],
        None => vec!["bounce without a status code".to_owned()],
    };
    Verdict {
        classification: ReplyClass::Bounce,
        confidence: Confidence::new(0.99),
        rationale,
        return_date: None,
        referral: None,
    }
}

/// Evidence per class from the rules that fired.
struct Scores {
    fired: Vec<&'static ClassRule>,
}

impl Scores {
    fn of(text: &str) -> Self {
        let fired: Vec<&'static ClassRule> = rules::matching_class_rules(text).collect();
        let mut scores = Self { fired };
        // "not interested" contains "interested": a no silences plain interest.
        if scores.score(ReplyClass::NotInterested) >= rules::CLASS_THRESHOLD {
            scores.fired.retain(|r| r.class != ReplyClass::Interested);
        }
        scores
    }

    fn score(&self, class: ReplyClass) -> f64 {
        rules::combine(self.fired.iter().filter(|r| r.class == class).map(|r| r.rule.weight))
    }

    fn ids(&self, class: ReplyClass) -> impl Iterator<Item = &'static str> + '_ {
        self.fired.iter().filter(move |r| r.class == class).map(|r| r.rule.id)
    }

    fn has(&self, predicate: impl Fn(&ClassRule) -> bool) -> bool {
        self.fired.iter().any(|r| predicate(r))
    }
}

fn human(facts: &ReplyFacts<'_>) -> Verdict {
    let text = facts.visible_text;
    let scores = Scores::of(&plain_apostrophes(text));
    let mut rationale = Vec::new();
    let dnc_subject = rules::DNC_SUBJECT.is_match(facts.subject);
    let reached: Vec<(ReplyClass, f64)> = PRECEDENCE
        .iter()
        .map(|&class| {
            let mut score = scores.score(class);
            if class == ReplyClass::DoNotContact && dnc_subject {
                score = rules::combine([score, 0.9]);
            }
            (class, score)
        })
        .filter(|(_, score)| *score >= rules::CLASS_THRESHOLD)
        .collect();
    let strongest = reached.iter().map(|(_, score)| *score).fold(0.0, f64::max);
    let reached: Vec<(ReplyClass, f64)> = reached
        .into_iter()
        .filter(|(_, score)| *score >= strongest - rules::PRECEDENCE_MARGIN)
        .collect();
    let Some(&(class, score)) = reached.first() else {
        rationale.push(if text.trim().is_empty() {
            "no text of their own (only quoted history or a forward)".to_owned()
        } else {
            "no class rule reached the threshold".to_owned()
        });
        return Verdict {
            classification: ReplyClass::Unclassified,
            confidence: Confidence::new(rules::UNCLASSIFIED_CONFIDENCE),
            rationale,
            return_date: None,
            referral: None,
        };
    };
    if dnc_subject && class == ReplyClass::DoNotContact {
        rationale.push("do_not_contact.subject".to_owned());
    }
    for (other, other_score) in &reached {
        let ids: Vec<&str> = scores.ids(*other).collect();
        if !ids.is_empty() {
            rationale.push(format!("{other} {:.2}: {}", other_score, ids.join(", ")));
        }
    }
    let competitors = reached.len().saturating_sub(1) as f64;
    let confidence = Confidence::new(score - rules::COMPETITION_PENALTY * competitors);
    if reached.len() > 1 {
        rationale.push(format!("{class} wins by precedence"));
    }
    let return_date = if class == ReplyClass::OutOfOffice {
        return_date(facts, text, &mut rationale)
    } else {
        None
    };
    let referral = if class == ReplyClass::WrongPerson {
        referral(text, facts.from, &mut rationale)
    } else {
        None
    };
    Verdict {
        classification: class,
        confidence,
        rationale,
        return_date,
        referral,
    }
}

/// Automatic replies: someone who left (wrong person), someone away (out of
/// office, with the return date), or anything else a machine sends.
fn auto_reply(facts: &ReplyFacts<'_>) -> Verdict {
    // The subject often carries the only "out of office" of the message.
    let text = plain_apostrophes(&format!("{}\n{}", facts.subject, facts.visible_text)).into_owned();
    let scores = Scores::of(&text);
    let mut rationale = Vec::new();
    let departed = scores.has(|r| r.rule.id.starts_with(rules::DEPARTED_PREFIX));
    let away = scores.score(ReplyClass::OutOfOffice);
    let subject_away = rules::AUTO_SUBJECT
        .matching(facts.subject)
        .any(|r| r.id.starts_with("subject.ooo"));
    if departed {
        rationale.extend(scores.ids(ReplyClass::WrongPerson).map(str::to_owned));
        let referral = referral(facts.visible_text, facts.from, &mut rationale);
        return Verdict {
            classification: ReplyClass::WrongPerson,
            confidence: Confidence::new(0.85),
            rationale,
            return_date: None,
            referral,
        };
    }
    if away >= rules::CLASS_THRESHOLD || subject_away {
        rationale.extend(scores.ids(ReplyClass::OutOfOffice).map(str::to_owned));
        if subject_away {
            rationale.push("out_of_office.subject".to_owned());
        }
        let return_date = return_date(facts, &text, &mut rationale);
        let confidence = rules::combine([away, if subject_away { 0.7 } else { 0.0 }, 0.5]);
        return Verdict {
            classification: ReplyClass::OutOfOffice,
            confidence: Confidence::new(confidence),
            rationale,
            return_date,
            referral: None,
        };
    }
    rationale.push("automatic reply without out-of-office or departure wording".to_owned());
    Verdict {
        classification: ReplyClass::AutoReplyOther,
        confidence: Confidence::new(0.8),
        rationale,
        return_date: None,
        referral: None,
    }
}

/// Phones and Word type ’ for '; the rules are written with '.
fn plain_apostrophes(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\u{2019}') {
        text.replace('\u{2019}', "'").into()
    } else {
        text.into()
    }
}

fn return_date(facts: &ReplyFacts<'_>, text: &str, rationale: &mut Vec<String>) -> Option<chrono::NaiveDate> {
    let sent_on = facts.date.map(|d| d.date_naive());
    match dates::return_date(text, sent_on) {
        Some(ReturnDate { date, evidence }) => {
            rationale.push(format!("return date {date} from \"{evidence}\""));
            Some(date)
        }
        None => {
            rationale.push("no return date stated".to_owned());
            None
        }
    }
}

/// Who to ask instead: an address in the text that is not the sender's, and
/// a capitalised name after a redirecting phrase.
fn referral(text: &str, from: Option<&str>, rationale: &mut Vec<String>) -> Option<Referral> {
    let email = rules::EMAIL_IN_TEXT
        .find_iter(text)
        .map(|m| m.as_str().trim_end_matches('.').to_lowercase())
        .find(|address| Some(address.as_str()) != from);
    let name = rules::REFERRAL_NAME
        .captures(text)
        .and_then(|caps| caps.get(1))
        .map(|m| m.as_str().trim().to_owned())
        .filter(|name| name.len() > 1);
    if email.is_none() && name.is_none() {
        return None;
    }
    rationale.push("referral named".to_owned());
    Some(Referral { name, email })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> ReplyFacts<'_> {
        ReplyFacts {
            kind: MessageKind::Human,
            subject: "Re: Quick question",
            visible_text: text,
            full_text: text,
            date: None,
            bounce: None,
            from: Some("anna@example.com"),
        }
    }

    fn class(text: &str) -> ReplyClass {
        RulesClassifier.classify(&facts(text)).classification
    }

    #[test]
    fn classes_in_several_languages() {
        assert_eq!(class("Not interested, thanks."), ReplyClass::NotInterested);
        assert_eq!(class("Kein Interesse."), ReplyClass::NotInterested);
        assert_eq!(class("Please remove me from your list."), ReplyClass::DoNotContact);
        assert_eq!(class("Merci de me désinscrire."), ReplyClass::DoNotContact);
        assert_eq!(
            class("Sounds interesting. Can we set up a call on Thursday?"),
            ReplyClass::MeetingRequest
        );
        assert_eq!(
            class("Interessant. Was kostet das pro Nutzer?"),
            ReplyClass::InformationRequest
        );
        assert_eq!(class("Me interesa."), ReplyClass::Interested);
        assert_eq!(class("Ok."), ReplyClass::Unclassified);
    }

    #[test]
    fn wrong_person_with_referral() {
        let verdict = RulesClassifier.classify(&facts(
            "I'm not the right person for this. Please reach out to my colleague Maria Lopez (maria.lopez@example.com).",
        ));
        assert_eq!(verdict.classification, ReplyClass::WrongPerson);
        let referral = verdict.referral.unwrap();
        assert_eq!(referral.email.as_deref(), Some("maria.lopez@example.com"));
        assert_eq!(referral.name.as_deref(), Some("Maria Lopez"));
    }
}
