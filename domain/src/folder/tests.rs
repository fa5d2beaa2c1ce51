use cqrs_es::test::TestFramework;

use super::*;
use crate::list::{
    ImportRules, ImportTarget, ReservedNames, SourceFormat, TextEncoding, parse_customer_file,
};

type Given = TestFramework<ListFolder>;

fn created() -> FolderEvent {
    FolderEvent::Created {
        tenant_id: "acme".into(),
        campaign_id: "c1".into(),
        number: 7,
        name: "東京リスト".into(),
        columns: vec!["会社名".into(), "電話番号".into()],
        phone_column: 1,
    }
}

fn folder(events: Vec<FolderEvent>) -> ListFolder {
    let mut f = ListFolder::default();
    for e in events {
        f.apply(e);
    }
    f
}

fn parse(csv: &str, folder: Option<(&[String], usize)>) -> ParsedList {
    let reserved = ReservedNames::default();
    let target = match folder {
        None => ImportTarget::NewFolder,
        Some((folder_columns, folder_count)) => ImportTarget::Append {
            folder_columns,
            folder_count,
        },
    };
    parse_customer_file(
        csv.as_bytes(),
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
    .unwrap()
}

fn added(first: u32, count: u32, key: Option<&str>) -> FolderEvent {
    FolderEvent::CustomersAdded {
        import_no: 1,
        first,
        count,
        chunks: 1,
        rows_stream: "acme:7/1".into(),
        source: file_source(
            SourceFormat::Csv(TextEncoding::Utf8),
            key.map(str::to_owned),
        ),
    }
}

#[test]
fn lst_2_new_folder_import_creates_then_adds_rows_in_chunks() {
    let mut csv = String::from("会社名,電話番号\n");
    for i in 0..2_500 {
        csv.push_str(&format!("会社{i},03-1234-{:04}\n", i));
    }
    let list = parse(&csv, None);
    let request = ImportRequest {
        tenant_id: "acme".into(),
        to: ImportTo::New {
            campaign_id: "c1".into(),
            number: 7,
            name: " 東京リスト ".into(),
        },
        source: file_source(SourceFormat::Csv(TextEncoding::Utf8), Some("k1".into())),
    };
    let d = ListFolder::default()
        .decide_import(&request, &list, "acme:7")
        .unwrap();
    assert_eq!(d.created, Some(created()));
    assert_eq!(d.chunks.len(), 3, "1,000 rows per chunk");
    let FolderRowsEvent::Chunk { first, rows, .. } = &d.chunks[2];
    assert_eq!((*first, rows.len()), (2_001, 500));
    assert_eq!(rows[0], ["会社2000", "0312342000"], "phone cell normalised");
    assert_eq!(
        d.outcome,
        ImportOutcome {
            folder: 7,
            first: 1,
            count: 2_500
        }
    );
    assert_eq!(d.rows_stream, "acme:7/1");
}

#[test]
fn lst_2b_append_maps_columns_by_name_and_numbers_continue() {
    let f = folder(vec![created(), added(1, 3, None)]);
    let columns = f.columns().to_vec();
    let list = parse("電話番号,会社名\n0312345678,A社\n", Some((&columns, 3)));
    let request = ImportRequest {
        tenant_id: "acme".into(),
        to: ImportTo::Existing,
        source: file_source(SourceFormat::Csv(TextEncoding::Utf8), None),
    };
    let d = f.decide_import(&request, &list, "acme:7").unwrap();
    let FolderRowsEvent::Chunk { first, rows, .. } = &d.chunks[0];
    assert_eq!(*first, 4, "LST-7: numbers continue after the last customer");
    assert_eq!(rows[0], ["A社", "0312345678"]);
}

#[test]
fn lst_2_repeated_idempotency_key_answers_the_first_outcome() {
    let f = folder(vec![created(), added(1, 3, Some("same"))]);
    let columns = f.columns().to_vec();
    let list = parse("会社名,電話番号\nA社,0312345678\n", Some((&columns, 3)));
    let request = ImportRequest {
        tenant_id: "acme".into(),
        to: ImportTo::Existing,
        source: file_source(SourceFormat::Csv(TextEncoding::Utf8), Some("same".into())),
    };
    let d = f.decide_import(&request, &list, "acme:7").unwrap();
    assert!(d.is_repeat());
    assert_eq!(
        d.outcome,
        ImportOutcome {
            folder: 7,
            first: 1,
            count: 3
        }
    );
}

#[test]
fn lst_4_folder_full_is_refused_with_the_numbers() {
    let f = folder(vec![created(), added(1, 199_999, None)]);
    let columns = f.columns().to_vec();
    // The parser was told a smaller count (a stale read model): the aggregate still refuses.
    let list = parse(
        "会社名,電話番号\nA,0312345678\nB,0312345679\n",
        Some((&columns, 0)),
    );
    let request = ImportRequest {
        tenant_id: "acme".into(),
        to: ImportTo::Existing,
        source: AddSource::Manual,
    };
    assert_eq!(
        f.decide_import(&request, &list, "acme:7"),
        Err(FolderError::FolderFull {
            count: 199_999,
            adding: 2
        })
    );
}

#[test]
fn lst_7_a_used_number_is_refused_even_after_delete() {
    let f = folder(vec![
        created(),
        FolderEvent::Deleted {
            name: "東京リスト".into(),
            customers: 0,
        },
    ]);
    let list = parse("会社名,電話番号\nA,0312345678\n", None);
    let request = ImportRequest {
        tenant_id: "acme".into(),
        to: ImportTo::New {
            campaign_id: "c1".into(),
            number: 7,
            name: "x".into(),
        },
        source: AddSource::Manual,
    };
    assert_eq!(
        f.decide_import(&request, &list, "acme:7"),
        Err(FolderError::AlreadyExists)
    );
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::CreateEmpty {
            tenant_id: "acme".into(),
            campaign_id: "c1".into(),
            number: 7,
            name: "x".into(),
            columns: vec!["電話番号".into()],
        })
        .then_expect_error(FolderError::AlreadyExists);
}

#[test]
fn lst_2d_empty_folder_needs_the_phone_column_and_unique_names() {
    let create = |columns: &[&str]| FolderCommand::CreateEmpty {
        tenant_id: "acme".into(),
        campaign_id: "c1".into(),
        number: 7,
        name: "東京リスト".into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
    };
    Given::with(())
        .given_no_previous_events()
        .when(create(&["会社名", "電話番号"]))
        .then_expect_events(vec![created()]);
    Given::with(())
        .given_no_previous_events()
        .when(create(&["会社名"]))
        .then_expect_error(FolderError::PhoneColumnMissing);
    Given::with(())
        .given_no_previous_events()
        .when(create(&["会社名", "会社名", "電話番号"]))
        .then_expect_error(FolderError::DuplicateColumn {
            name: "会社名".into(),
        });
}

#[test]
fn lst_8_rename_activate_permissions_and_delete() {
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::Rename {
            tenant_id: "acme".into(),
            name: "大阪".into(),
        })
        .then_expect_events(vec![FolderEvent::Renamed {
            from: "東京リスト".into(),
            name: "大阪".into(),
        }]);
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::Deactivate {
            tenant_id: "acme".into(),
        })
        .then_expect_events(vec![FolderEvent::Deactivated]);
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::SetPermittedUsers {
            tenant_id: "acme".into(),
            users: vec![3, 2, 3],
        })
        .then_expect_events(vec![FolderEvent::PermittedUsersSet { users: vec![2, 3] }]);
    Given::with(())
        .given(vec![created(), added(1, 5, None)])
        .when(FolderCommand::Delete {
            tenant_id: "acme".into(),
        })
        .then_expect_events(vec![FolderEvent::Deleted {
            name: "東京リスト".into(),
            customers: 5,
        }]);
    Given::with(())
        .given(vec![
            created(),
            FolderEvent::Deleted {
                name: "東京リスト".into(),
                customers: 0,
            },
        ])
        .when(FolderCommand::Rename {
            tenant_id: "acme".into(),
            name: "x".into(),
        })
        .then_expect_error(FolderError::NotFound);
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::Rename {
            tenant_id: "other".into(),
            name: "x".into(),
        })
        .then_expect_error(FolderError::NotFound);
}

#[test]
fn lst_5_columns_rearranged_but_the_phone_column_keeps_its_name() {
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::ArrangeColumns {
            tenant_id: "acme".into(),
            order: vec!["電話番号".into(), "会社名".into()],
            display_names: vec!["電話番号".into(), "社名".into()],
        })
        .then_expect_events(vec![FolderEvent::ColumnsArranged {
            order: vec![1, 0],
            names: vec!["社名".into(), "電話番号".into()],
        }]);
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::ArrangeColumns {
            tenant_id: "acme".into(),
            order: vec!["電話番号".into(), "会社名".into()],
            display_names: vec!["TEL".into(), "社名".into()],
        })
        .then_expect_error(FolderError::PhoneColumnRename);
    Given::with(())
        .given(vec![created()])
        .when(FolderCommand::ArrangeColumns {
            tenant_id: "acme".into(),
            order: vec!["会社名".into(), "会社名".into()],
            display_names: vec!["a".into(), "b".into()],
        })
        .then_expect_error(FolderError::BadColumnOrder { columns: 2 });
}

#[test]
fn lst_8_edit_and_delete_one_customer() {
    Given::with(())
        .given(vec![created(), added(1, 2, None)])
        .when(FolderCommand::EditCustomer {
            tenant_id: "acme".into(),
            customer: 2,
            values: vec![
                ("電話番号".into(), "03-9999-0000".into()),
                ("会社名".into(), "B社".into()),
            ],
        })
        .then_expect_events(vec![FolderEvent::CustomerEdited {
            customer: 2,
            changes: vec![
                CellChange {
                    column: 1,
                    value: "0399990000".into(),
                },
                CellChange {
                    column: 0,
                    value: "B社".into(),
                },
            ],
            phone: Some("0399990000".parse().unwrap()),
        }]);
    Given::with(())
        .given(vec![
            created(),
            added(1, 2, None),
            FolderEvent::CustomersDeleted { customers: vec![2] },
        ])
        .when(FolderCommand::EditCustomer {
            tenant_id: "acme".into(),
            customer: 2,
            values: vec![("会社名".into(), "x".into())],
        })
        .then_expect_error(FolderError::CustomerNotFound {
            customer: "007-002".into(),
        });
    Given::with(())
        .given(vec![created(), added(1, 2, None)])
        .when(FolderCommand::DeleteCustomers {
            tenant_id: "acme".into(),
            customers: vec![3],
        })
        .then_expect_error(FolderError::CustomerNotFound {
            customer: "007-003".into(),
        });
}

#[test]
fn lst_7_customer_ids_round_trip() {
    assert_eq!(customer_id(7, 12), "007-012");
    assert_eq!(customer_id(1234, 200_000), "1234-200000");
    assert_eq!(parse_customer_id("007-012"), Some((7, 12)));
    assert_eq!(parse_customer_id("7"), None);
}
