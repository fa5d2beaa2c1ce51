use kaden_domain::folder::CellChange;

use super::*;
use crate::testing::event;

fn created(number: u32) -> KadenEvent {
    KadenEvent::Folder(FolderEvent::Created {
        tenant_id: "t".into(),
        campaign_id: "c1".into(),
        number,
        name: format!("F{number}"),
        columns: vec!["会社名".into(), "電話番号".into(), "住所".into()],
        phone_column: 1,
    })
}

fn rows(folder: u32, first: u32, rows: &[[&str; 3]]) -> KadenEvent {
    KadenEvent::FolderRows(FolderRowsEvent::Chunk {
        folder,
        first,
        rows: rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect(),
    })
}

fn folder_event(e: FolderEvent) -> KadenEvent {
    KadenEvent::Folder(e)
}

fn model() -> Folders {
    let mut m = Folders::default();
    let mut changes = Vec::new();
    for (id, e) in [
        ("t:1", created(1)),
        (
            "t:1/1",
            rows(
                1,
                1,
                &[
                    ["A社", "0312345678", "東京都港区"],
                    ["B社", "0312345679", "大阪市"],
                    ["C社", "0312345678", "東京都新宿区"],
                ],
            ),
        ),
        ("t:2", created(2)),
        ("t:2/1", rows(2, 1, &[["D社", "0312345679", "京都市"]])),
    ] {
        m.apply(&event("t", id, e), &mut changes);
    }
    m
}

#[test]
fn lst_8_search_by_conditions_on_any_column_with_pages() {
    let m = model();
    let f = m.folder("t", 1).unwrap();
    assert_eq!(f.registered, 3);
    let tokyo = [Condition {
        column: 2,
        op: MatchOp::Prefix,
        value: "東京都".into(),
    }];
    let page = f.search(&tokyo, 0, 1);
    assert_eq!((page.total, page.has_more), (2, true));
    assert_eq!(page.customers[0].id, "001-001");
    let next = f.search(&tokyo, page.customers[0].number, 1);
    assert_eq!(next.customers[0].cells[0], "C社");
    assert!(!next.has_more);
    let both = [
        tokyo[0].clone(),
        Condition {
            column: 0,
            op: MatchOp::Contains,
            value: "C".into(),
        },
    ];
    assert_eq!(f.search(&both, 0, 10).total, 1);
    let equals = [Condition {
        column: 1,
        op: MatchOp::Equals,
        value: "0312345679".into(),
    }];
    assert_eq!(f.search(&equals, 0, 10).customers[0].cells[0], "B社");
}

#[test]
fn lst_6_duplicates_across_and_within_folders() {
    let m = model();
    let t = m.tenant("t").unwrap();
    let dups = t.duplicates(None);
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0].holders, vec![(1, 1), (1, 3)]);
    assert_eq!(dups[1].holders, vec![(1, 2), (2, 1)]);
    assert_eq!(t.duplicates(Some(2)).len(), 1);
    assert_eq!(t.next_number(), 3);
}

#[test]
fn lst_8_edit_delete_customer_and_delete_folder_leave_every_index() {
    let mut m = model();
    let mut changes = Vec::new();
    let edit = FolderEvent::CustomerEdited {
        customer: 3,
        changes: vec![CellChange {
            column: 1,
            value: "0399999999".into(),
        }],
        phone: Some("0399999999".parse().unwrap()),
    };
    m.apply(&event("t", "t:1", folder_event(edit)), &mut changes);
    let t = m.tenant("t").unwrap();
    assert_eq!(
        t.duplicates(None).len(),
        1,
        "the edited number is no longer a duplicate"
    );
    assert_eq!(
        m.folder("t", 1).unwrap().customer(3).unwrap().cells[1],
        "0399999999"
    );
    m.apply(
        &event(
            "t",
            "t:1",
            folder_event(FolderEvent::CustomersDeleted { customers: vec![2] }),
        ),
        &mut changes,
    );
    assert_eq!(m.folder("t", 1).unwrap().registered, 2);
    assert!(m.folder("t", 1).unwrap().customer(2).is_none());
    assert!(m.tenant("t").unwrap().duplicates(None).is_empty());
    m.apply(
        &event(
            "t",
            "t:1",
            folder_event(FolderEvent::Deleted {
                name: "F1".into(),
                customers: 2,
            }),
        ),
        &mut changes,
    );
    let t = m.tenant("t").unwrap();
    assert!(t.folder(1).is_none());
    assert!(t.holders(&"0312345678".parse().unwrap()).is_empty());
    assert_eq!(t.next_number(), 3, "numbers never repeat");
    assert!(changes.iter().all(|c| matches!(c, Change::Folder { .. })));
}

#[test]
fn lst_9_progress_counts_registered_and_worked() {
    let m = model();
    let f = m.folder("t", 1).unwrap();
    assert_eq!((f.registered, f.worked, f.progress()), (3, 0, 0.0));
}

#[test]
fn lst_1_operators_see_permitted_active_folders_of_active_campaigns() {
    let mut m = model();
    let mut changes = Vec::new();
    let permit = FolderEvent::PermittedUsersSet { users: vec![5] };
    m.apply(
        &event("t", "t:1", folder_event(permit.clone())),
        &mut changes,
    );
    m.apply(&event("t", "t:2", folder_event(permit)), &mut changes);
    let t = m.tenant("t").unwrap();
    let numbers = |v: Vec<&FolderView>| v.iter().map(|f| f.number).collect::<Vec<_>>();
    assert_eq!(numbers(t.visible_to(5, |_| true)), [1, 2]);
    assert!(t.visible_to(6, |_| true).is_empty(), "not permitted");
    assert!(t.visible_to(5, |_| false).is_empty(), "campaign inactive");
    m.apply(
        &event("t", "t:2", folder_event(FolderEvent::Deactivated)),
        &mut changes,
    );
    assert_eq!(numbers(m.tenant("t").unwrap().visible_to(5, |_| true)), [1]);
}

#[test]
fn usr_4_a_deleted_user_leaves_every_permission_list() {
    let mut m = model();
    let mut changes = Vec::new();
    let permit = FolderEvent::PermittedUsersSet { users: vec![5, 6] };
    m.apply(
        &event("t", "t:1", folder_event(permit.clone())),
        &mut changes,
    );
    m.apply(&event("t", "t:2", folder_event(permit)), &mut changes);
    changes.clear();
    let deleted = KadenEvent::Tenant(TenantEvent::UserDeleted {
        user_id: 5,
        username: "op5".into(),
        display_name: "五".into(),
    });
    m.apply(&event("t", "t", deleted), &mut changes);
    assert_eq!(m.folder("t", 1).unwrap().permitted_users, [6]);
    assert_eq!(m.folder("t", 2).unwrap().permitted_users, [6]);
    assert_eq!(changes.len(), 2, "both folders announce the change");
    assert!(m.tenant("t").unwrap().visible_to(5, |_| true).is_empty());
}
