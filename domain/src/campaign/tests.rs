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

fn attribute(name: &str, kind: settings::AttributeKind, choices: &[&str]) -> settings::Attribute {
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
