//! The api side of the one place that can forbid a call: [`ApiGate`] implements telephony's
//! `CallGate` with the read models (DNC-5, CMP-2, CMP-6, CALL-9, MON-3 per tenant), and
//! [`SipUsers`] hands the registrar the HA1 of users' SIP passwords.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kaden_domain::aggregate_ref::AggregateRef;
use kaden_domain::dnc::{DialPermission, DialPurpose, DncScope, dial_permission};
use kaden_domain::error::ErrorCode;
use kaden_domain::list::PhoneNumber;
use kaden_projections::engine::Engine;
use kaden_telephony::auth::Algorithm;
use kaden_telephony::dialer::{Admission, CallGate, CallRequest, LineLicences, Refusal};
use kaden_telephony::registrar::SipCredentials;

use crate::error::ApiError;

/// `Refusal::Policy` rules this gate uses.
pub const RULE_CAMPAIGN_INACTIVE: &str = "CMP-6";
pub const RULE_CALLER_NUMBER: &str = "CALL-9";
pub const RULE_NO_CAMPAIGN: &str = "CMP-1";

/// The tenant of a call: call refs are interaction aggregate ids, `"{tenant}:{id}"`.
pub fn call_tenant(call_ref: &str) -> &str {
    AggregateRef::parse(call_ref).map_or(call_ref, |r| r.tenant)
}

/// The gate: every dialling path reaches it through `CallControl::place_call`.
pub struct ApiGate {
    pub engine: Arc<Engine>,
    /// Licensed lines when a tenant's contract sets none.
    pub default_lines: u32,
    /// MON-3: each tenant's lines, first come first served (on this node).
    pub lines: Mutex<HashMap<String, LineLicences>>,
}

impl ApiGate {
    pub fn new(engine: Arc<Engine>, default_lines: u32) -> Self {
        Self {
            engine,
            default_lines,
            lines: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's line counter with its current licence.
    pub fn tenant_lines(&self, tenant: &str) -> LineLicences {
        let limit = self
            .engine
            .read(|m| m.directory.tenant(tenant).and_then(|t| t.licensed_lines))
            .unwrap_or(self.default_lines);
        let mut all = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let lines = all
            .entry(tenant.to_string())
            .or_insert_with(|| LineLicences::new(limit));
        lines.set_limit(limit);
        lines.clone()
    }

    fn check_numbers(&self, tenant: &str, req: &CallRequest) -> Result<(), Refusal> {
        let caller = req.caller_number.clone().unwrap_or_default();
        let Ok(number) = PhoneNumber::from_normalised(&req.number) else {
            return Err(Refusal::BadNumber {
                number: req.number.clone(),
            });
        };
        self.engine.read(|m| {
            let permission = match &req.campaign {
                Some(id) => {
                    let Some(c) = m.campaigns.get(tenant, id) else {
                        return Err(Refusal::Policy {
                            rule: RULE_NO_CAMPAIGN.into(),
                            message: format!("campaign {id} does not exist in this tenant"),
                        });
                    };
                    if !c.active {
                        return Err(Refusal::Policy {
                            rule: RULE_CAMPAIGN_INACTIVE.into(),
                            message: format!(
                                "案件「{}」は無効です (campaign {:?} is inactive: activate it to call its lists)",
                                c.name, c.name
                            ),
                        });
                    }
                    if c.settings.main_caller_number.is_none() {
                        return Err(Refusal::NoCallerNumber);
                    }
                    if !c.settings.has_caller_number(&caller) {
                        return Err(Refusal::Policy {
                            rule: RULE_CALLER_NUMBER.into(),
                            message: format!(
                                "発信番号{caller}はこの案件の番号ではありません (caller number {caller} is not a number of campaign {:?}: choose the main number or one of its sub numbers)",
                                c.name
                            ),
                        });
                    }
                    m.dnc
                        .tenant(tenant)
                        .map(|d| dial_permission(d, DialPurpose::Campaign(id), &number))
                }
                None => {
                    // A manual call: refused when registered for all campaigns or for any
                    // campaign the caller number serves (DNC-5).
                    let served: Vec<String> = m
                        .campaigns
                        .list(tenant, true)
                        .into_iter()
                        .filter(|c| c.settings.has_caller_number(&caller))
                        .map(|c| c.id.clone())
                        .collect();
                    m.dnc.tenant(tenant).map(|d| {
                        dial_permission(
                            d,
                            DialPurpose::Manual {
                                served_campaigns: &served,
                            },
                            &number,
                        )
                    })
                }
            };
            match permission {
                Some(DialPermission::Refused(r)) => {
                    let scope = match &r.scope {
                        DncScope::All => "全案件 (all campaigns)".to_string(),
                        DncScope::Campaigns(ids) => ids
                            .iter()
                            .map(|id| {
                                m.campaigns
                                    .get(tenant, id)
                                    .map_or_else(|| id.clone(), |c| c.name.clone())
                            })
                            .collect::<Vec<_>>()
                            .join("・"),
                    };
                    Err(Refusal::DoNotCall {
                        number: r.number.as_str().to_string(),
                        scope: format!("登録番号 {}, {scope}", r.registration_id),
                    })
                }
                _ => Ok(()),
            }
        })
    }
}

impl CallGate for ApiGate {
    fn check(&self, req: &CallRequest) -> Result<Admission, Refusal> {
        let tenant = call_tenant(&req.call_ref);
        self.check_numbers(tenant, req)?;
        // MON-3 last, so a refused number never holds a line.
        let line = self.tenant_lines(tenant).try_acquire()?;
        Ok(Admission::holding(line))
    }
}

/// The registrar's view of users' SIP passwords (HA1 only).
pub struct SipUsers {
    pub engine: Arc<Engine>,
}

impl SipCredentials for SipUsers {
    fn ha1(&self, user: &str, realm: &str, algorithm: Algorithm) -> Option<String> {
        self.engine.read(|m| {
            let (_, account) = m.directory.sip_user(user)?;
            (account.realm == realm).then(|| match algorithm {
                Algorithm::Md5 => account.ha1_md5.clone(),
                Algorithm::Sha256 => account.ha1_sha256.clone(),
            })
        })
    }
}

/// A stable code for each refusal (`extensions.code`).
pub fn refusal_code(refusal: &Refusal) -> ErrorCode {
    match refusal {
        Refusal::DoNotCall { .. } => ErrorCode::DoNotCall,
        Refusal::LinesExhausted { .. } => ErrorCode::LinesExhausted,
        Refusal::NoCallerNumber => ErrorCode::NoMainCallerNumber,
        Refusal::OperatorNotRegistered { .. } => ErrorCode::PhoneNotRegistered,
        Refusal::RingTimeOutOfRange { .. } => ErrorCode::RingTimeOutOfRange,
        Refusal::BadNumber { .. } => ErrorCode::BadNumber,
        Refusal::Policy { rule, .. } => match rule.as_str() {
            RULE_CAMPAIGN_INACTIVE => ErrorCode::CampaignInactive,
            RULE_CALLER_NUMBER => ErrorCode::CallerNumberNotInCampaign,
            _ => ErrorCode::NotFound,
        },
    }
}

/// The Japanese-first message of a refusal (ERR-1: what was wrong and how to fix it).
pub fn refusal_message(refusal: &Refusal) -> String {
    let ja = match refusal {
        Refusal::DoNotCall { .. } => "この番号は架電禁止に登録されているため発信できません",
        Refusal::LinesExhausted { .. } => {
            "契約回線数の上限に達しているため発信できません。通話が終わるまでお待ちください"
        }
        Refusal::NoCallerNumber => {
            "メイン発信番号が設定されていないため発信できません。案件管理でメイン発信番号を設定してください"
        }
        Refusal::OperatorNotRegistered { .. } => {
            "ソフトフォンがサインインしていません。ソフトフォンを起動してSIPにサインインしてください"
        }
        Refusal::RingTimeOutOfRange { .. } => "呼出時間は10〜45秒で指定してください",
        Refusal::BadNumber { .. } => "発信できない電話番号です",
        Refusal::Policy { message, .. } => return message.clone(),
    };
    let hint = match refusal {
        Refusal::NoCallerNumber => {
            " — set one with setCallerNumbers; with no contracted numbers yet, the deployment's operator adds them with `kaden admin contract --numbers 03-1234-5678,…`"
        }
        _ => "",
    };
    format!("{ja} ({refusal}{hint})")
}

pub fn refusal_error(refusal: &Refusal) -> ApiError {
    ApiError::new(refusal_code(refusal), refusal_message(refusal))
}
