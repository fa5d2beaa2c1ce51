use cqrs_es::test::TestFramework;

use super::*;

type Given = TestFramework<DncRegistry>;

fn n(s: &str) -> PhoneNumber {
    s.parse().unwrap()
}

fn campaigns(c: &[&str]) -> DncScope {
    DncScope::Campaigns(c.iter().map(|s| s.to_string()).collect())
}

fn registered(id: u64, number: &str, scope: DncScope) -> DncEvent {
    DncEvent::Registered {
        tenant_id: "acme".into(),
        registrations: vec![DncRegistration {
            id,
            number: n(number),
            scope,
            source: DncSource::default(),
        }],
    }
}

#[test]
fn dnc_3_register_one_number_for_chosen_campaigns() {
    Given::with(())
        .given_no_previous_events()
        .when(DncCommand::Register {
            tenant_id: "acme".into(),
            numbers: vec![n("0312345678")],
            scope: campaigns(&["c1"]),
            source: DncSource::default(),
        })
        .then_expect_events(vec![registered(1, "0312345678", campaigns(&["c1"]))]);
}

#[test]
fn dnc_1_registering_again_widens_instead_of_duplicating() {
    Given::with(())
        .given(vec![registered(1, "0312345678", campaigns(&["c1"]))])
        .when(DncCommand::Register {
            tenant_id: "acme".into(),
            numbers: vec![n("0312345678"), n("0312345679")],
            scope: campaigns(&["c2"]),
            source: DncSource::default(),
        })
        .then_expect_events(vec![
            registered(2, "0312345679", campaigns(&["c2"])),
            DncEvent::Edited {
                id: 1,
                number: n("0312345678"),
                scope: campaigns(&["c1", "c2"]),
            },
        ]);
}

#[test]
fn dnc_2_edit_refuses_a_number_held_by_another_registration() {
    Given::with(())
        .given(vec![
            registered(1, "0312345678", DncScope::All),
            registered(2, "0312345679", DncScope::All),
        ])
        .when(DncCommand::Edit {
            tenant_id: "acme".into(),
            id: 2,
            number: n("0312345678"),
            scope: DncScope::All,
        })
        .then_expect_error(DncError::NumberAlreadyRegistered {
            number: n("0312345678"),
            id: 1,
        });
    Given::with(())
        .given(vec![registered(1, "0312345678", DncScope::All)])
        .when(DncCommand::Unregister {
            tenant_id: "acme".into(),
            ids: vec![1, 9],
        })
        .then_expect_error(DncError::NotFound { id: 9 });
    Given::with(())
        .given(vec![registered(1, "0312345678", DncScope::All)])
        .when(DncCommand::Register {
            tenant_id: "acme".into(),
            numbers: vec![n("0312345678")],
            scope: campaigns(&[]),
            source: DncSource::default(),
        })
        .then_expect_error(DncError::NoCampaigns);
}

#[test]
fn dnc_2_unregister_all() {
    Given::with(())
        .given(vec![
            registered(1, "0312345678", DncScope::All),
            registered(2, "0312345679", DncScope::All),
        ])
        .when(DncCommand::UnregisterAll {
            tenant_id: "acme".into(),
        })
        .then_expect_events(vec![DncEvent::UnregisteredAll { count: 2 }]);
}

#[test]
fn dnc_5_dial_permission_names_the_registration() {
    let mut r = DncRegistry::default();
    r.apply(registered(4, "0312345678", campaigns(&["c1"])));
    r.apply(registered(5, "09012345678", DncScope::All));
    let refused = dial_permission(&r, DialPurpose::Campaign("c1"), &n("0312345678"));
    let DialPermission::Refused(reason) = refused else {
        panic!("must be refused: {refused:?}");
    };
    assert_eq!(reason.registration_id, 4);
    assert!(reason.to_string().contains("registration 4"), "{reason}");
    assert_eq!(
        dial_permission(&r, DialPurpose::Campaign("c2"), &n("0312345678")),
        DialPermission::Allowed,
        "another campaign may call it"
    );
    assert_eq!(
        dial_permission(&r, DialPurpose::Campaign("c2"), &n("0312345600")),
        DialPermission::Allowed
    );
    // Manual calls: refused for all-campaign registrations and served campaigns.
    let served = vec!["c9".to_string()];
    assert!(matches!(
        dial_permission(
            &r,
            DialPurpose::Manual {
                served_campaigns: &served
            },
            &n("09012345678")
        ),
        DialPermission::Refused(_)
    ));
    assert_eq!(
        dial_permission(
            &r,
            DialPurpose::Manual {
                served_campaigns: &served
            },
            &n("0312345678")
        ),
        DialPermission::Allowed
    );
    let served = vec!["c1".to_string()];
    assert!(matches!(
        dial_permission(
            &r,
            DialPurpose::Manual {
                served_campaigns: &served
            },
            &n("0312345678")
        ),
        DialPermission::Refused(_)
    ));
}
