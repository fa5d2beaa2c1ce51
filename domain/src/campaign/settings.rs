//! A campaign's configuration (CMP-1..5, CMP-7): caller numbers, result statuses, customer and
//! result attributes, prospect levels, memo templates and report settings, each replaced as a
//! whole list by one command and validated here.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::CampaignError;
use crate::error::validate_name;

/// CMP-3: the six statuses every campaign has; they cannot be renamed or removed.
pub const FIXED_STATUSES: [&str; 6] = ["不通", "FAX", "現アナ", "見込", "再コール", "架電禁止"];

/// Longest mail subject, header or footer (characters).
pub const MAX_REPORT_TEXT: usize = 2_000;
/// Longest memo template (characters).
pub const MAX_MEMO_TEMPLATE: usize = 1_000;

/// CMP-4: the kinds of attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    /// Several choices may be ticked.
    Checkbox,
    /// One choice.
    Radio,
    /// One choice from a drop-down.
    Pulldown,
    /// Free text, no choices.
    Text,
}

/// Customer attributes (顧客属性) or result attributes (結果属性).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeTarget {
    Customer,
    Result,
}

impl AttributeTarget {
    pub const fn label(self) -> &'static str {
        match self {
            AttributeTarget::Customer => "顧客属性",
            AttributeTarget::Result => "結果属性",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeKind,
    /// The choices of a checkbox, radio or pulldown attribute; empty for text.
    pub choices: Vec<String>,
}

/// CMP-7: the report (報告) settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSettings {
    pub enabled: bool,
    pub subject: String,
    pub header: String,
    pub footer: String,
    /// Recipient e-mail addresses.
    pub addresses: Vec<String>,
    /// Recipient users (ids in the campaign's tenant; checked by the caller).
    pub recipient_user_ids: Vec<u64>,
}

/// Everything configurable about a campaign besides its name and active flag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSettings {
    /// CMP-1/CMP-2: the main caller number (national digits).
    pub main_caller_number: Option<String>,
    pub sub_caller_numbers: Vec<String>,
    /// CMP-3: custom statuses after the six fixed ones.
    pub custom_statuses: Vec<String>,
    pub customer_attributes: Vec<Attribute>,
    pub result_attributes: Vec<Attribute>,
    pub prospect_levels: Vec<String>,
    pub memo_templates: Vec<String>,
    pub report: ReportSettings,
}

impl CampaignSettings {
    /// Every result status: the six fixed ones, then the custom ones.
    pub fn statuses(&self) -> impl Iterator<Item = &str> {
        FIXED_STATUSES
            .into_iter()
            .chain(self.custom_statuses.iter().map(String::as_str))
    }

    /// CMP-1/CALL-9: is `number` the main or one of the sub caller numbers?
    pub fn has_caller_number(&self, number: &str) -> bool {
        self.main_caller_number.as_deref() == Some(number)
            || self.sub_caller_numbers.iter().any(|n| n == number)
    }

    /// CMP-2: calls and imports need a main caller number.
    pub fn check_ready(&self) -> Result<(), CampaignError> {
        match self.main_caller_number {
            Some(_) => Ok(()),
            None => Err(CampaignError::NoMainCallerNumber),
        }
    }

    /// CMP-5: status names and customer/result attribute names must all differ.
    pub fn check_collisions(&self) -> Result<(), CampaignError> {
        let mut seen: Vec<(&str, &'static str)> = Vec::new();
        let names = self
            .statuses()
            .map(|n| (n, "結果ステータス"))
            .chain(
                self.customer_attributes
                    .iter()
                    .map(|a| (a.name.as_str(), AttributeTarget::Customer.label())),
            )
            .chain(
                self.result_attributes
                    .iter()
                    .map(|a| (a.name.as_str(), AttributeTarget::Result.label())),
            );
        for (name, what) in names {
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(CampaignError::NameCollision {
                    name: name.to_string(),
                    first: first.to_string(),
                    second: what.to_string(),
                });
            }
            seen.push((name, what));
        }
        Ok(())
    }
}

/// Names in a list: each a valid name, no two the same.
pub fn validate_names(what: &'static str, raw: &[String]) -> Result<Vec<String>, CampaignError> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for name in raw {
        let name = validate_name(what, name)?;
        if out.contains(&name) {
            return Err(CampaignError::Duplicate { what, name });
        }
        out.push(name);
    }
    Ok(out)
}

/// Checks the attributes of one target (names, choices by kind).
pub fn validate_attributes(
    target: AttributeTarget,
    raw: &[Attribute],
) -> Result<Vec<Attribute>, CampaignError> {
    let what = target.label();
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for a in raw {
        let name = validate_name(what, &a.name)?;
        if !names.insert(name.clone()) {
            return Err(CampaignError::Duplicate { what, name });
        }
        let choices = validate_names("選択肢", &a.choices)?;
        match (a.kind, choices.is_empty()) {
            (AttributeKind::Text, false) => {
                return Err(CampaignError::TextWithChoices { attribute: name });
            }
            (AttributeKind::Checkbox | AttributeKind::Radio | AttributeKind::Pulldown, true) => {
                return Err(CampaignError::NoChoices { attribute: name });
            }
            _ => {}
        }
        out.push(Attribute {
            name,
            kind: a.kind,
            choices,
        });
    }
    Ok(out)
}

/// A plain check of an e-mail address: one `@`, something before it, a dotted domain after it,
/// no spaces or control characters, at most 254 characters.
pub fn valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    address.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !address.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        })
}

fn check_text(what: &'static str, text: &str, max: usize) -> Result<String, CampaignError> {
    let len = text.chars().count();
    if len > max {
        return Err(CampaignError::TextTooLong { what, len, max });
    }
    Ok(text.to_string())
}

/// Checks report settings (CMP-7): texts within limits, every address valid and listed once.
pub fn validate_report(raw: &ReportSettings) -> Result<ReportSettings, CampaignError> {
    let mut addresses: Vec<String> = Vec::with_capacity(raw.addresses.len());
    for (i, a) in raw.addresses.iter().enumerate() {
        let a = a.trim();
        if !valid_email(a) {
            return Err(CampaignError::BadEmail {
                position: i + 1,
                address: a.to_string(),
            });
        }
        if addresses.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            return Err(CampaignError::Duplicate {
                what: "報告先メールアドレス",
                name: a.to_string(),
            });
        }
        addresses.push(a.to_string());
    }
    let mut users = raw.recipient_user_ids.clone();
    users.sort_unstable();
    users.dedup();
    if raw.enabled && addresses.is_empty() && users.is_empty() {
        return Err(CampaignError::ReportWithoutRecipients);
    }
    Ok(ReportSettings {
        enabled: raw.enabled,
        subject: check_text("件名", raw.subject.trim(), MAX_REPORT_TEXT)?,
        header: check_text("ヘッダー", &raw.header, MAX_REPORT_TEXT)?,
        footer: check_text("フッター", &raw.footer, MAX_REPORT_TEXT)?,
        addresses,
        recipient_user_ids: users,
    })
}

/// Memo templates: non-empty, at most [`MAX_MEMO_TEMPLATE`] characters (line breaks allowed).
pub fn validate_memo_templates(raw: &[String]) -> Result<Vec<String>, CampaignError> {
    raw.iter()
        .map(|t| {
            if t.trim().is_empty() {
                return Err(CampaignError::Name(crate::error::NameError::Empty {
                    what: "メモ定型文",
                }));
            }
            check_text("メモ定型文", t, MAX_MEMO_TEMPLATE)
        })
        .collect()
}
