//! Campaigns and their life cycle:
//! draft → active ⇄ paused → completed, and any → archived.

use crate::error::DomainError;
use crate::ids::{CampaignId, TenantId};
use crate::input::{self, Patch, Problems};
use crate::sequence::{SendingSettings, SequenceStep};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Active,
    Paused,
    Completed,
    Archived,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 5] = [
        CampaignStatus::Draft,
        CampaignStatus::Active,
        CampaignStatus::Paused,
        CampaignStatus::Completed,
        CampaignStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The moves a client can ask for, one route each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    Activate,
    Pause,
    Complete,
    Archive,
}

impl CampaignAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignAction::Activate => "activate",
            CampaignAction::Pause => "pause",
            CampaignAction::Complete => "complete",
            CampaignAction::Archive => "archive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Activate, Self::Pause, Self::Complete, Self::Archive]
            .into_iter()
            .find(|a| a.as_str() == text)
    }

    /// The status this action leads to from `from`, if the move is legal.
    pub fn target(self, from: CampaignStatus) -> Option<CampaignStatus> {
        use CampaignStatus::*;
        match (self, from) {
            (CampaignAction::Activate, Draft | Paused) => Some(Active),
            (CampaignAction::Pause, Active) => Some(Paused),
            (CampaignAction::Complete, Active | Paused) => Some(Completed),
            (CampaignAction::Archive, Draft | Active | Paused | Completed) => Some(Archived),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: CampaignId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    pub status: CampaignStatus,
    /// Free-form settings for later features (sending windows, mailboxes, tracking...).
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// The emails each lead gets, in order (`PUT /v1/campaigns/{id}/sequence`).
    #[serde(default)]
    pub sequence: Vec<SequenceStep>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why bounce protection paused it (cleared when it is activated again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// Incremented by every change; used for optimistic locking.
    pub version: u64,
}

pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 2000;

/// `POST /v1/campaigns` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// 1–200 characters.
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
}

/// `PATCH /v1/campaigns/{id}` body. `settings` is merged (RFC 7396).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
}

impl Campaign {
    pub fn create(tenant_id: TenantId, input: NewCampaign, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let mut problems = Problems::at("");
        let name = problems.check("name", input::required_text(&input.name, MAX_NAME));
        let description = problems.check("description", input::optional_text(input.description, MAX_DESCRIPTION));
        let settings = problems.check("settings", input::bounded_object(input.settings));
        problems.into_result().map_err(DomainError::Validation)?;
        let settings = settings.unwrap_or_default();
        SendingSettings::from_settings(&settings).map_err(DomainError::Validation)?;
        Ok(Self {
            id: CampaignId::generate(),
            tenant_id,
            name: name.unwrap_or_default(),
            description: description.flatten(),
            status: CampaignStatus::Draft,
            settings,
            sequence: Vec::new(),
            created_at: now,
            updated_at: now,
            paused_reason: None,
            version: 1,
        })
    }

    pub fn apply(&mut self, patch: CampaignPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        let mut problems = Problems::at("");
        problems.check(
            "name",
            patch
                .name
                .apply_required(&mut self.name, |name| input::required_text(&name, MAX_NAME)),
        );
        problems.check(
            "description",
            input::patch_text(&mut self.description, patch.description, MAX_DESCRIPTION),
        );
        problems.check("settings", input::patch_object(&mut self.settings, patch.settings));
        problems.into_result().map_err(DomainError::Validation)?;
        SendingSettings::from_settings(&self.settings).map_err(DomainError::Validation)?;
        self.touch(now);
        Ok(())
    }

    /// `settings.default_country`: the 2-letter country in which phone numbers
    /// without `+` are read.
    pub fn default_country(&self) -> Option<&str> {
        self.settings
            .get("default_country")
            .and_then(Value::as_str)
            .filter(|c| c.trim().len() == 2)
    }

    /// How the campaign sends. Settings are checked whenever they change, so
    /// stored ones always read.
    pub fn sending_settings(&self) -> SendingSettings {
        SendingSettings::from_settings(&self.settings).unwrap_or_default()
    }

    /// Replaces the sequence (already checked by `sequence::check_sequence`).
    pub fn set_sequence(&mut self, steps: Vec<SequenceStep>, now: DateTime<Utc>) {
        self.sequence = steps;
        self.touch(now);
    }

    /// Moves the campaign through its life cycle; an illegal move names the current status.
    pub fn transition(&mut self, action: CampaignAction, now: DateTime<Utc>) -> Result<(), DomainError> {
        let target = action.target(self.status).ok_or(DomainError::InvalidTransition {
            status: self.status,
            action: action.as_str(),
        })?;
        self.status = target;
        if target == CampaignStatus::Active {
            self.paused_reason = None;
        }
        self.touch(now);
        Ok(())
    }

    /// Bounce protection stops an active campaign, saying why.
    pub fn auto_pause(&mut self, reason: String, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.transition(CampaignAction::Pause, now)?;
        self.paused_reason = Some(reason);
        Ok(())
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
        self.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignAction::*;
    use CampaignStatus::*;

    fn campaign() -> Campaign {
        Campaign::create(
            TenantId::generate(),
            NewCampaign {
                name: "Q1 outreach".into(),
                description: None,
                settings: Map::new(),
            },
            Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn the_life_cycle_moves_as_documented() {
        let mut c = campaign();
        assert_eq!(c.status, Draft);
        for (action, expected) in [
            (Activate, Active),
            (Pause, Paused),
            (Activate, Active),
            (Complete, Completed),
            (Archive, Archived),
        ] {
            c.transition(action, Utc::now()).unwrap();
            assert_eq!(c.status, expected);
        }
        assert_eq!(c.version, 6);
    }

    #[test]
    fn illegal_moves_name_the_current_status_and_change_nothing() {
        let mut c = campaign();
        let before = c.clone();
        let err = c.transition(Pause, Utc::now()).unwrap_err();
        assert!(matches!(
            err,
            DomainError::InvalidTransition {
                status: Draft,
                action: "pause"
            }
        ));
        assert_eq!(c, before);
        c.transition(Archive, Utc::now()).unwrap();
        for action in [Activate, Pause, Complete, Archive] {
            assert!(c.transition(action, Utc::now()).is_err());
        }
    }

    #[test]
    fn every_status_can_be_archived_except_archived() {
        for status in CampaignStatus::ALL {
            assert_eq!(Archive.target(status).is_some(), status != Archived);
        }
    }

    #[test]
    fn names_are_required_and_bounded() {
        let err = Campaign::create(
            TenantId::generate(),
            NewCampaign {
                name: "  ".into(),
                description: Some("x".repeat(3000)),
                settings: Map::new(),
            },
            Utc::now(),
        )
        .unwrap_err();
        let DomainError::Validation(errors) = err else {
            panic!("expected validation")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/name", "/description"]);
    }

    #[test]
    fn patch_merges_settings() {
        let mut c = campaign();
        c.settings.insert("a".into(), Value::from(1));
        let patch = CampaignPatch {
            settings: Some(serde_json::json!({"b": 2, "a": null}).as_object().unwrap().clone()),
            description: Patch::Value("hello".into()),
            ..Default::default()
        };
        c.apply(patch, Utc::now()).unwrap();
        assert_eq!(Value::Object(c.settings.clone()), serde_json::json!({"b": 2}));
        assert_eq!(c.description.as_deref(), Some("hello"));
    }
}
