//! The campaign (案件): one calling project. Aggregate id: a UUIDv7 string.
//!
//! Create, rename, activate and deactivate (CMP-1, CMP-6), and the configuration in
//! [`settings`]: caller numbers (CMP-1/2), statuses (CMP-3), attributes (CMP-4), names that must
//! not collide (CMP-5), prospect levels, memo templates and report settings (CMP-7).

mod commands;
mod error;
mod events;
pub mod settings;

pub use commands::CampaignCommand;
pub use error::CampaignError;
pub use events::CampaignEvent;
pub use settings::CampaignSettings;

use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use crate::error::validate_name;
use crate::metadata::TenantId;

/// What a campaign's decisions need to remember.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    tenant_id: Option<TenantId>,
    name: String,
    active: bool,
    #[serde(default)]
    settings: CampaignSettings,
}

impl Campaign {
    /// Label used in messages for a campaign's name.
    pub const NAME_LABEL: &'static str = "案件名";

    /// The campaign's configuration.
    pub fn settings(&self) -> &CampaignSettings {
        &self.settings
    }

    /// Writes a settings event if it changes something and keeps names apart (CMP-5).
    async fn write_checked(
        &mut self,
        event: CampaignEvent,
        sink: &EventSink<Self>,
    ) -> Result<(), CampaignError> {
        let mut next = self.settings.clone();
        event.apply_to(&mut next);
        if next == self.settings {
            return Ok(());
        }
        next.check_collisions()?;
        sink.write(event, self).await;
        Ok(())
    }

    fn owned_by(&self, tenant: &str) -> Result<(), CampaignError> {
        match &self.tenant_id {
            Some(t) if t == tenant => Ok(()),
            // Another tenant's campaign is reported exactly like a missing one.
            _ => Err(CampaignError::NotFound),
        }
    }
}

impl Aggregate for Campaign {
    const TYPE: &'static str = "Campaign";
    type Command = CampaignCommand;
    type Event = CampaignEvent;
    type Error = CampaignError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            CampaignCommand::Create { tenant_id, name } => {
                if self.tenant_id.is_some() {
                    return Err(CampaignError::AlreadyExists);
                }
                let name = validate_name(Self::NAME_LABEL, &name)?;
                sink.write(CampaignEvent::Created { tenant_id, name }, self)
                    .await;
            }
            CampaignCommand::Rename { tenant_id, name } => {
                self.owned_by(&tenant_id)?;
                let name = validate_name(Self::NAME_LABEL, &name)?;
                if name != self.name {
                    sink.write(
                        CampaignEvent::Renamed {
                            from: self.name.clone(),
                            name,
                        },
                        self,
                    )
                    .await;
                }
            }
            CampaignCommand::Activate { tenant_id } => {
                self.owned_by(&tenant_id)?;
                if !self.active {
                    sink.write(CampaignEvent::Activated, self).await;
                }
            }
            CampaignCommand::Deactivate { tenant_id } => {
                self.owned_by(&tenant_id)?;
                if self.active {
                    sink.write(CampaignEvent::Deactivated, self).await;
                }
            }
            CampaignCommand::SetCallerNumbers {
                tenant_id,
                main,
                subs,
                contracted,
            } => {
                self.owned_by(&tenant_id)?;
                let (main, subs) = settings_numbers(main, subs, &contracted)?;
                if main != self.settings.main_caller_number
                    || subs != self.settings.sub_caller_numbers
                {
                    sink.write(CampaignEvent::CallerNumbersSet { main, subs }, self)
                        .await;
                }
            }
            CampaignCommand::SetStatuses { tenant_id, custom } => {
                self.owned_by(&tenant_id)?;
                let custom = settings::validate_names("結果ステータス", &custom)?;
                if let Some(fixed) = custom
                    .iter()
                    .find(|c| settings::FIXED_STATUSES.contains(&c.as_str()))
                {
                    return Err(CampaignError::FixedStatus {
                        name: fixed.clone(),
                    });
                }
                let event = CampaignEvent::StatusesSet { custom };
                self.write_checked(event, sink).await?;
            }
            CampaignCommand::SetAttributes {
                tenant_id,
                target,
                attributes,
            } => {
                self.owned_by(&tenant_id)?;
                let attributes = settings::validate_attributes(target, &attributes)?;
                let event = CampaignEvent::AttributesSet { target, attributes };
                self.write_checked(event, sink).await?;
            }
            CampaignCommand::SetProspectLevels { tenant_id, levels } => {
                self.owned_by(&tenant_id)?;
                let levels = settings::validate_names("見込レベル", &levels)?;
                self.write_checked(CampaignEvent::ProspectLevelsSet { levels }, sink)
                    .await?;
            }
            CampaignCommand::SetMemoTemplates {
                tenant_id,
                templates,
            } => {
                self.owned_by(&tenant_id)?;
                let templates = settings::validate_memo_templates(&templates)?;
                self.write_checked(CampaignEvent::MemoTemplatesSet { templates }, sink)
                    .await?;
            }
            CampaignCommand::SetReport { tenant_id, report } => {
                self.owned_by(&tenant_id)?;
                let report = settings::validate_report(&report)?;
                self.write_checked(CampaignEvent::ReportSet { report }, sink)
                    .await?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if event.apply_to(&mut self.settings) {
            return;
        }
        match event {
            CampaignEvent::Created { tenant_id, name } => {
                self.tenant_id = Some(tenant_id);
                self.name = name;
                self.active = true;
            }
            CampaignEvent::Renamed { name, .. } => self.name = name,
            CampaignEvent::Activated => self.active = true,
            CampaignEvent::Deactivated => self.active = false,
            // Folded into the settings above.
            CampaignEvent::CallerNumbersSet { .. }
            | CampaignEvent::StatusesSet { .. }
            | CampaignEvent::AttributesSet { .. }
            | CampaignEvent::ProspectLevelsSet { .. }
            | CampaignEvent::MemoTemplatesSet { .. }
            | CampaignEvent::ReportSet { .. } => {}
        }
    }
}

/// CMP-1: normalises the numbers and checks them against the contracted pool.
fn settings_numbers(
    main: Option<String>,
    subs: Vec<String>,
    contracted: &[String],
) -> Result<(Option<String>, Vec<String>), CampaignError> {
    let norm = |raw: &str| -> Result<String, CampaignError> {
        let number = crate::list::phone::normalise(raw)
            .map_err(CampaignError::BadNumber)?
            .number
            .as_str()
            .to_string();
        let in_pool = contracted
            .iter()
            .any(|c| crate::list::phone::normalise(c).is_ok_and(|n| n.number.as_str() == number));
        if in_pool {
            Ok(number)
        } else {
            Err(CampaignError::NotContracted { number })
        }
    };
    let main = main
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(norm)
        .transpose()?;
    if subs.len() > contracted.len() {
        return Err(CampaignError::TooManySubNumbers {
            count: subs.len(),
            max: contracted.len(),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(subs.len());
    for s in &subs {
        let n = norm(s)?;
        if out.contains(&n) || main.as_ref() == Some(&n) {
            return Err(CampaignError::Duplicate {
                what: "発信番号",
                name: n,
            });
        }
        out.push(n);
    }
    Ok((main, out))
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::error::NameError;

    type Given = TestFramework<Campaign>;

    fn created() -> CampaignEvent {
        CampaignEvent::Created {
            tenant_id: "acme".into(),
            name: "春の案件".into(),
        }
    }

    #[test]
    fn cmp_1_create_trims_the_name_and_starts_active() {
        Given::with(())
            .given_no_previous_events()
            .when(CampaignCommand::Create {
                tenant_id: "acme".into(),
                name: " 春の案件 ".into(),
            })
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn create_refuses_an_empty_name() {
        Given::with(())
            .given_no_previous_events()
            .when(CampaignCommand::Create {
                tenant_id: "acme".into(),
                name: "  ".into(),
            })
            .then_expect_error(CampaignError::Name(NameError::Empty {
                what: Campaign::NAME_LABEL,
            }));
    }

    #[test]
    fn create_twice_is_refused() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Create {
                tenant_id: "acme".into(),
                name: "x".into(),
            })
            .then_expect_error(CampaignError::AlreadyExists);
    }

    #[test]
    fn rename_records_the_old_name() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Rename {
                tenant_id: "acme".into(),
                name: "秋の案件".into(),
            })
            .then_expect_events(vec![CampaignEvent::Renamed {
                from: "春の案件".into(),
                name: "秋の案件".into(),
            }]);
    }

    #[test]
    fn rename_to_the_same_name_writes_nothing() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Rename {
                tenant_id: "acme".into(),
                name: "春の案件".into(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn another_tenants_campaign_is_not_found() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Rename {
                tenant_id: "other".into(),
                name: "乗っ取り".into(),
            })
            .then_expect_error(CampaignError::NotFound);
        Given::with(())
            .given_no_previous_events()
            .when(CampaignCommand::Deactivate {
                tenant_id: "acme".into(),
            })
            .then_expect_error(CampaignError::NotFound);
    }

    #[test]
    fn cmp_6_deactivate_then_activate() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Deactivate {
                tenant_id: "acme".into(),
            })
            .then_expect_events(vec![CampaignEvent::Deactivated]);
        Given::with(())
            .given(vec![created(), CampaignEvent::Deactivated])
            .when(CampaignCommand::Activate {
                tenant_id: "acme".into(),
            })
            .then_expect_events(vec![CampaignEvent::Activated]);
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::Activate {
                tenant_id: "acme".into(),
            })
            .then_expect_events(vec![]);
    }

    fn with_settings(events: Vec<CampaignEvent>) -> Vec<CampaignEvent> {
        let mut all = vec![created()];
        all.extend(events);
        all
    }

    fn contracted() -> Vec<String> {
        vec![
            "03-1234-5678".into(),
            "0120-111-222".into(),
            "06-1111-2222".into(),
        ]
    }

    #[test]
    fn cmp_1_caller_numbers_come_from_the_contracted_pool() {
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetCallerNumbers {
                tenant_id: "acme".into(),
                main: Some("03(1234)5678".into()),
                subs: vec!["0120111222".into()],
                contracted: contracted(),
            })
            .then_expect_events(vec![CampaignEvent::CallerNumbersSet {
                main: Some("0312345678".into()),
                subs: vec!["0120111222".into()],
            }]);
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetCallerNumbers {
                tenant_id: "acme".into(),
                main: Some("045-999-0000".into()),
                subs: vec![],
                contracted: contracted(),
            })
            .then_expect_error(CampaignError::NotContracted {
                number: "0459990000".into(),
            });
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetCallerNumbers {
                tenant_id: "acme".into(),
                main: None,
                subs: vec!["0312345678".into(), "03-1234-5678".into()],
                contracted: contracted(),
            })
            .then_expect_error(CampaignError::Duplicate {
                what: "発信番号",
                name: "0312345678".into(),
            });
    }

    #[test]
    fn cmp_2_without_a_main_number_calls_and_imports_are_refused() {
        let mut settings = CampaignSettings::default();
        assert_eq!(
            settings.check_ready(),
            Err(CampaignError::NoMainCallerNumber)
        );
        assert!(
            CampaignError::NoMainCallerNumber
                .to_string()
                .contains("main caller number")
        );
        settings.main_caller_number = Some("0312345678".into());
        assert_eq!(settings.check_ready(), Ok(()));
    }

    #[test]
    fn cmp_3_fixed_statuses_are_always_there_and_cannot_be_redefined() {
        let settings = CampaignSettings::default();
        assert_eq!(
            settings.statuses().collect::<Vec<_>>(),
            ["不通", "FAX", "現アナ", "見込", "再コール", "架電禁止"]
        );
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetStatuses {
                tenant_id: "acme".into(),
                custom: vec!["アポ".into(), "見込".into()],
            })
            .then_expect_error(CampaignError::FixedStatus {
                name: "見込".into(),
            });
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetStatuses {
                tenant_id: "acme".into(),
                custom: vec![" アポ ".into(), "資料送付".into()],
            })
            .then_expect_events(vec![CampaignEvent::StatusesSet {
                custom: vec!["アポ".into(), "資料送付".into()],
            }]);
    }

    fn attribute(
        name: &str,
        kind: settings::AttributeKind,
        choices: &[&str],
    ) -> settings::Attribute {
        settings::Attribute {
            name: name.into(),
            kind,
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn cmp_4_attribute_kinds_and_choices() {
        use settings::{AttributeKind::*, AttributeTarget};
        let set = |attributes| CampaignCommand::SetAttributes {
            tenant_id: "acme".into(),
            target: AttributeTarget::Customer,
            attributes,
        };
        Given::with(())
            .given(vec![created()])
            .when(set(vec![attribute("業種", Pulldown, &[])]))
            .then_expect_error(CampaignError::NoChoices {
                attribute: "業種".into(),
            });
        Given::with(())
            .given(vec![created()])
            .when(set(vec![attribute("備考", Text, &["x"])]))
            .then_expect_error(CampaignError::TextWithChoices {
                attribute: "備考".into(),
            });
        let good = vec![
            attribute("業種", Pulldown, &["IT", "製造"]),
            attribute("興味", Checkbox, &["A", "B"]),
            attribute("決裁者", Radio, &["はい", "いいえ"]),
            attribute("備考", Text, &[]),
        ];
        Given::with(())
            .given(vec![created()])
            .when(set(good.clone()))
            .then_expect_events(vec![CampaignEvent::AttributesSet {
                target: AttributeTarget::Customer,
                attributes: good,
            }]);
    }

    #[test]
    fn cmp_5_status_and_attribute_names_must_not_collide() {
        use settings::{AttributeKind::*, AttributeTarget};
        let history = with_settings(vec![
            CampaignEvent::StatusesSet {
                custom: vec!["アポ".into()],
            },
            CampaignEvent::AttributesSet {
                target: AttributeTarget::Customer,
                attributes: vec![attribute("業種", Text, &[])],
            },
        ]);
        Given::with(())
            .given(history.clone())
            .when(CampaignCommand::SetAttributes {
                tenant_id: "acme".into(),
                target: AttributeTarget::Result,
                attributes: vec![attribute("アポ", Text, &[])],
            })
            .then_expect_error(CampaignError::NameCollision {
                name: "アポ".into(),
                first: "結果ステータス".into(),
                second: "結果属性".into(),
            });
        Given::with(())
            .given(history)
            .when(CampaignCommand::SetStatuses {
                tenant_id: "acme".into(),
                custom: vec!["業種".into()],
            })
            .then_expect_error(CampaignError::NameCollision {
                name: "業種".into(),
                first: "結果ステータス".into(),
                second: "顧客属性".into(),
            });
    }

    #[test]
    fn cmp_7_report_addresses_are_validated() {
        let report = |addresses: &[&str], enabled| settings::ReportSettings {
            enabled,
            subject: "報告".into(),
            header: String::new(),
            footer: String::new(),
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            recipient_user_ids: vec![],
        };
        for bad in [
            "yamada",
            "a@b",
            "a b@example.jp",
            "@example.jp",
            "a@example..jp",
        ] {
            Given::with(())
                .given(vec![created()])
                .when(CampaignCommand::SetReport {
                    tenant_id: "acme".into(),
                    report: report(&["ok@example.jp", bad], true),
                })
                .then_expect_error(CampaignError::BadEmail {
                    position: 2,
                    address: bad.trim().into(),
                });
        }
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetReport {
                tenant_id: "acme".into(),
                report: report(&[], true),
            })
            .then_expect_error(CampaignError::ReportWithoutRecipients);
        Given::with(())
            .given(vec![created()])
            .when(CampaignCommand::SetReport {
                tenant_id: "acme".into(),
                report: report(&[" sales@example.co.jp "], true),
            })
            .then_expect_events(vec![CampaignEvent::ReportSet {
                report: report(&["sales@example.co.jp"], true),
            }]);
    }
}
