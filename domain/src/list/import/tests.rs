// One test per import rule (LST-2..4, DNC-1/3, ERR-1/2) with its cases: the file is long
// because the rules are many, not because it mixes concepts.

use super::*;
use std::io::Write;

fn new_folder() -> (ReservedNames, ImportTarget<'static>) {
    (ReservedNames::default(), ImportTarget::NewFolder)
}

fn parse(text: &str) -> Result<ParsedList, ImportFailure> {
    let (reserved, target) = new_folder();
    parse_customer_file(
        text.as_bytes(),
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
}

fn errors(text: &str) -> Vec<ImportError> {
    parse(text).expect_err("should be refused").errors
}

fn sjis(s: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(s).0.into_owned()
}

#[test]
fn lst_3_phone_column_normalised_other_columns_text() {
    let list = parse(
        "会社名,電話番号,電話番号2\n山田商事,03-1234-5678,090-1111-2222\n鈴木,312345678, x \n",
    )
    .unwrap();
    assert_eq!(list.columns(), ["会社名", "電話番号", "電話番号2"]);
    assert_eq!(list.phone_column(), 1);
    assert_eq!(list.len(), 2);
    let rows: Vec<Vec<&str>> = list.rows().map(|r| r.cells().collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["山田商事", "0312345678", "090-1111-2222"],
            vec!["鈴木", "0312345678", " x "]
        ]
    );
    let second = list.row(1).unwrap();
    assert_eq!(second.line, 3);
    assert_eq!(second.phone.as_str(), "0312345678");
    assert_eq!(second.cell(2), Some(" x "));
    assert_eq!(second.cell(3), None);
    assert_eq!(list.source, SourceFormat::Csv(TextEncoding::Utf8));
}

#[test]
fn csv_cells_are_spans_of_the_decoded_text_not_copies() {
    let list = parse("電話番号,名前,メモ\n03-1234-5678,山田,\"a\"\"b\"\n").unwrap();
    assert_eq!(list.extra, "0312345678a\"b");
    assert_eq!(
        list.row(0).unwrap().cells().collect::<Vec<_>>(),
        ["0312345678", "山田", "a\"b"]
    );
    let sjis_list = parse_customer_file(
        &sjis("電話番号,名前\n0312345678,髙橋\n"),
        &ImportRules {
            reserved: &ReservedNames::default(),
            target: ImportTarget::NewFolder,
        },
    )
    .unwrap();
    assert_eq!(sjis_list.extra, "0312345678");
    assert_eq!(sjis_list.row(0).unwrap().cell(1), Some("髙橋"));
}

#[test]
fn lst_3_leading_zero_restored_is_a_warning() {
    let list = parse("電話番号\n312345678\n").unwrap();
    assert!(matches!(
        list.warnings.as_slice(),
        [ImportWarning::Phone {
            line: 2,
            warning: PhoneWarning::LeadingZeroRestored,
            ..
        }]
    ));
}

#[test]
fn lst_3_trimmed_header_and_phone_are_warnings() {
    let list = parse(" 電話番号 ,名前\n 03-1234-5678 ,a\n").unwrap();
    assert_eq!(list.columns(), ["電話番号", "名前"]);
    assert!(list.warnings.contains(&ImportWarning::HeaderTrimmed {
        column: 1,
        original: " 電話番号 ".into()
    }));
    assert!(list.warnings.iter().any(|w| matches!(
        w,
        ImportWarning::Phone {
            line: 2,
            warning: PhoneWarning::WhitespaceTrimmed,
            ..
        }
    )));
}

#[test]
fn lst_3_shift_jis_and_bom_utf8_and_quoted_cells() {
    let text = "電話番号,住所\r\n03-1234-5678,\"東京都千代田区1-1, ㈱髙橋\"\r\n";
    let list = parse_customer_file(
        &sjis(text),
        &ImportRules {
            reserved: &ReservedNames::default(),
            target: ImportTarget::NewFolder,
        },
    )
    .unwrap();
    assert_eq!(list.source, SourceFormat::Csv(TextEncoding::ShiftJis));
    assert_eq!(
        list.row(0).unwrap().cell(1),
        Some("東京都千代田区1-1, ㈱髙橋")
    );
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let list = parse_customer_file(
        &bom,
        &ImportRules {
            reserved: &ReservedNames::default(),
            target: ImportTarget::NewFolder,
        },
    )
    .unwrap();
    assert_eq!(list.source, SourceFormat::Csv(TextEncoding::Utf8Bom));
    assert_eq!(list.columns()[0], "電話番号");
}

#[test]
fn lst_3_every_bad_row_is_reported_and_nothing_is_returned() {
    let errs = errors("電話番号,名前\n03-1234-5678,a\nabc,b\n03-1234,c\n090-1234-5678\n,e\n");
    assert!(
        matches!(&errs[0], ImportError::InvalidPhone { line: 3, column: 1, value, reason: PhoneError::InvalidCharacter { .. } } if value == "abc")
    );
    assert!(matches!(
        &errs[1],
        ImportError::InvalidPhone {
            line: 4,
            reason: PhoneError::WrongLength { .. },
            ..
        }
    ));
    assert!(matches!(
        &errs[2],
        ImportError::RaggedRow {
            line: 5,
            expected: 2,
            found: 1
        }
    ));
    assert!(matches!(
        &errs[3],
        ImportError::InvalidPhone {
            line: 6,
            reason: PhoneError::Empty,
            ..
        }
    ));
    assert_eq!(errs.len(), 4);
}

#[test]
fn lst_3_ragged_rows_refused() {
    let errs = errors("電話番号,名前\n0312345678,a,extra\n0312345678\n");
    assert_eq!(
        errs,
        vec![
            ImportError::RaggedRow {
                line: 2,
                expected: 2,
                found: 3
            },
            ImportError::RaggedRow {
                line: 3,
                expected: 2,
                found: 1
            }
        ]
    );
}

#[test]
fn lst_3_sec_12_8_a_cell_over_4096_characters_is_a_row_error() {
    let fits = "名".repeat(MAX_CELL_CHARS);
    let over = "名".repeat(MAX_CELL_CHARS + 1);
    assert!(parse(&format!("電話番号,名前\n0312345678,{fits}\n")).is_ok());
    let errs = errors(&format!(
        "電話番号,名前\n0312345678,{fits}\n0312345679,{over}\n"
    ));
    assert_eq!(
        errs,
        vec![ImportError::CellTooLong {
            line: 3,
            column: 2,
            chars: MAX_CELL_CHARS + 1
        }]
    );
    assert_eq!(errs[0].code(), "CELL_TOO_LONG");
    assert!(errs[0].to_string().contains("4096"));
}

#[test]
fn lst_3_unclosed_quote_is_reported_not_swallowed_silently() {
    let errs = errors("電話番号,名前\n0312345678,\"abc\n0312345679,d\n");
    assert_eq!(errs, vec![ImportError::UnclosedQuote { line: 2 }]);
    assert!(parse("電話番号,名前\n0312345678,\"a\"\"b\"\n").is_ok());
}

#[test]
fn lst_3_multiline_cell_keeps_line_numbers_of_record_starts() {
    let errs = errors("電話番号,メモ\n0312345678,\"1行目\n2行目\"\nbad,x\n");
    assert!(matches!(
        errs.as_slice(),
        [ImportError::InvalidPhone { line: 4, .. }]
    ));
}

#[test]
fn lst_3_header_must_be_unique_and_non_empty() {
    let errs = errors("電話番号,住所,住所,\n0312345678,a,b,c\n");
    assert!(errs.contains(&ImportError::DuplicateHeader {
        header: "住所".into(),
        first_column: 2,
        column: 3
    }));
    assert!(errs.contains(&ImportError::EmptyHeader { column: 4 }));
}

#[test]
fn lst_3_phone_header_must_match_exactly() {
    let errs = errors("電話番号1,名前\n0312345678,a\n");
    assert_eq!(
        errs,
        vec![ImportError::MissingPhoneColumn {
            near: Some("電話番号1".into())
        }]
    );
    assert_eq!(
        errors("名前\na\n"),
        vec![ImportError::MissingPhoneColumn { near: None }]
    );
}

#[test]
fn lst_3_header_colliding_with_status_or_attribute_is_refused() {
    let reserved = ReservedNames {
        statuses: vec!["再コール".into()],
        attributes: vec!["業種".into()],
    };
    let rules = ImportRules {
        reserved: &reserved,
        target: ImportTarget::NewFolder,
    };
    let failure = parse_customer_file(
        "電話番号,再コール, 業種\n0312345678,a,b\n".as_bytes(),
        &rules,
    )
    .unwrap_err();
    assert_eq!(
        failure.errors,
        vec![
            ImportError::HeaderCollidesWithStatus {
                column: 2,
                header: "再コール".into()
            },
            ImportError::HeaderCollidesWithAttribute {
                column: 3,
                header: "業種".into()
            },
        ]
    );
    assert_eq!(
        failure.warnings,
        vec![ImportWarning::HeaderTrimmed {
            column: 3,
            original: " 業種".into()
        }]
    );
}

#[test]
fn lst_2_append_header_must_equal_folder_columns_in_any_order() {
    let folder_columns = vec!["電話番号".to_owned(), "名前".to_owned(), "住所".to_owned()];
    let reserved = ReservedNames::default();
    let rules = ImportRules {
        reserved: &reserved,
        target: ImportTarget::Append {
            folder_columns: &folder_columns,
            folder_count: 10,
        },
    };
    let list =
        parse_customer_file("住所,電話番号,名前\nx,0312345678,y\n".as_bytes(), &rules).unwrap();
    assert_eq!(list.columns(), ["住所", "電話番号", "名前"]);
    let failure =
        parse_customer_file("電話番号,名前,会社\n0312345678,y,z\n".as_bytes(), &rules).unwrap_err();
    assert_eq!(
        failure.errors,
        vec![ImportError::HeaderMismatch {
            missing: vec!["住所".into()],
            extra: vec!["会社".into()]
        }]
    );
}

#[test]
fn lst_4_folder_limit_counts_existing_customers() {
    let folder_columns = vec!["電話番号".to_owned()];
    let reserved = ReservedNames::default();
    let full = ImportRules {
        reserved: &reserved,
        target: ImportTarget::Append {
            folder_columns: &folder_columns,
            folder_count: MAX_CUSTOMERS_PER_FOLDER - 1,
        },
    };
    assert!(
        parse_customer_file(
            b"\xE9\x9B\xBB\xE8\xA9\xB1\xE7\x95\xAA\xE5\x8F\xB7\n0312345678\n",
            &full
        )
        .is_ok()
    );
    let failure =
        parse_customer_file("電話番号\n0312345678\n0312345679\n".as_bytes(), &full).unwrap_err();
    assert_eq!(
        failure.errors,
        vec![ImportError::FolderFull {
            existing: MAX_CUSTOMERS_PER_FOLDER - 1,
            adding: 2,
            max: MAX_CUSTOMERS_PER_FOLDER
        }]
    );
}

#[test]
fn lst_4_file_over_50000_rows_refused_whole_with_numbers() {
    let mut text = String::from("電話番号,名前\n");
    for i in 0..=MAX_ROWS_PER_FILE {
        text.push_str(&format!("0312{:06},名前{i}\n", i));
    }
    text.push_str("bad,row\n");
    assert_eq!(
        errors(&text),
        vec![ImportError::TooManyRows {
            rows: MAX_ROWS_PER_FILE + 2,
            max: MAX_ROWS_PER_FILE
        }]
    );
    let exactly: String = text
        .lines()
        .take(MAX_ROWS_PER_FILE + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(parse(&exactly).unwrap().len(), MAX_ROWS_PER_FILE);
}

#[test]
fn malformed_files_get_clear_errors() {
    assert_eq!(errors(""), vec![ImportError::Decode(DecodeError::Empty)]);
    assert_eq!(errors("電話番号\n"), vec![ImportError::NoDataRows]);
    assert_eq!(
        errors("電話番号,名前\n,\n , \n"),
        vec![ImportError::NoDataRows]
    );
    assert_eq!(errors("\n\n"), vec![ImportError::NoHeader]);
    assert!(matches!(
        errors("電話番号\n03\u{0}\n").as_slice(),
        [ImportError::Decode(DecodeError::NulByte { line: 2, .. })]
    ));
    assert!(matches!(
        parse_customer_file(
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest",
            &ImportRules {
                reserved: &ReservedNames::default(),
                target: ImportTarget::NewFolder
            }
        )
        .unwrap_err()
        .errors
        .as_slice(),
        [ImportError::XlsNotSupported]
    ));
    let bad = [sjis("電話番号\n0312345678\n"), b"\x82\xFF\n".to_vec()].concat();
    let (reserved, target) = new_folder();
    assert!(matches!(
        parse_customer_file(
            &bad,
            &ImportRules {
                reserved: &reserved,
                target
            }
        )
        .unwrap_err()
        .errors
        .as_slice(),
        [ImportError::Decode(DecodeError::UnknownEncoding {
            line: 3,
            ..
        })]
    ));
    assert!(matches!(
        parse_customer_file(
            b"PK\x03\x04garbage",
            &ImportRules {
                reserved: &reserved,
                target
            }
        )
        .unwrap_err()
        .errors
        .as_slice(),
        [ImportError::XlsxUnreadable { .. }]
    ));
}

#[test]
fn err_1_report_entries_carry_code_line_column_value() {
    let failure = parse("電話番号,名前\n03-1234,a\n").unwrap_err();
    let entry = failure.errors[0].report();
    assert_eq!(entry.code, "PHONE_WRONG_LENGTH");
    assert_eq!(
        (entry.line, entry.column, entry.value.as_deref()),
        (Some(2), Some(1), Some("03-1234"))
    );
    let warning = parse("電話番号\n312345678\n").unwrap().warnings[0].report();
    assert_eq!(
        (warning.code, warning.line),
        ("PHONE_LEADING_ZERO_RESTORED", Some(2))
    );
    assert_eq!(failure.code(), "IMPORT_REFUSED");
}

#[test]
fn lst_4_a_2_gb_claimed_size_is_refused_before_reading() {
    let two_gb = 2 * 1024 * 1024 * 1024;
    assert_eq!(
        check_upload_size(two_gb),
        Err(ImportError::FileTooLarge {
            bytes: two_gb,
            max: MAX_FILE_BYTES
        })
    );
    assert_eq!(check_upload_size(MAX_FILE_BYTES), Ok(()));
}

#[test]
fn lst_3_blank_rows_skipped_with_warning() {
    let list = parse("電話番号,名前\n0312345678,a\n,\n\n , \n0312345679,b\n,,\n").unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.warnings,
        vec![ImportWarning::BlankRowsSkipped {
            first_line: 3,
            count: 3
        }]
    );
    // A blank row is blank whatever its number of cells.
    assert!(parse("電話番号,名前\n0312345678,a\n,,\n").is_ok());
}

#[test]
fn too_many_columns_refused() {
    let header: Vec<String> = (0..=MAX_COLUMNS)
        .map(|i| {
            if i == 0 {
                PHONE_HEADER.into()
            } else {
                format!("c{i}")
            }
        })
        .collect();
    let text = format!(
        "{}\n{}\n",
        header.join(","),
        vec!["0312345678"; MAX_COLUMNS + 1].join(",")
    );
    assert_eq!(
        errors(&text),
        vec![ImportError::TooManyColumns {
            columns: MAX_COLUMNS + 1,
            max: MAX_COLUMNS
        }]
    );
}

#[test]
fn lst_2_manual_rows_use_the_same_rules() {
    let columns = vec!["電話番号".to_owned(), "名前".to_owned()];
    let (reserved, _) = new_folder();
    let rules = ImportRules {
        reserved: &reserved,
        target: ImportTarget::Append {
            folder_columns: &columns,
            folder_count: 0,
        },
    };
    let ok = parse_manual_rows(
        &columns,
        &[
            vec!["03-1234-5678".into(), "a".into()],
            vec!["9012345678".into(), String::new()],
        ],
        &rules,
    )
    .unwrap();
    assert_eq!(ok.row(1).unwrap().phone.as_str(), "09012345678");
    let failure = parse_manual_rows(
        &columns,
        &[vec!["".into(), "a".into()], vec!["0312345678".into()]],
        &rules,
    )
    .unwrap_err();
    assert_eq!(
        failure.errors,
        vec![
            ImportError::InvalidPhone {
                line: 1,
                column: 1,
                value: String::new(),
                reason: PhoneError::Empty
            },
            ImportError::RaggedRow {
                line: 2,
                expected: 2,
                found: 1
            },
        ]
    );
}

#[test]
fn dnc_1_csv_has_one_phone_column_and_duplicates_kept_once() {
    let list =
        parse_dnc_file("電話番号\n03-1234-5678\n0312345678\n090-1234-5678\n".as_bytes()).unwrap();
    assert_eq!(
        list.numbers
            .iter()
            .map(PhoneNumber::as_str)
            .collect::<Vec<_>>(),
        ["0312345678", "09012345678"]
    );
    assert!(matches!(
        list.warnings.as_slice(),
        [ImportWarning::DuplicateNumber {
            line: 3,
            first_line: 2,
            ..
        }]
    ));
    let failure = parse_dnc_file("電話番号,名前\n0312345678,a\n".as_bytes()).unwrap_err();
    assert_eq!(
        failure.errors,
        vec![ImportError::HeaderMismatch {
            missing: vec![],
            extra: vec!["名前".into()]
        }]
    );
    assert!(matches!(
        parse_dnc_file("電話番号\nabc\n".as_bytes())
            .unwrap_err()
            .errors
            .as_slice(),
        [ImportError::InvalidPhone { line: 2, .. }]
    ));
}

#[test]
fn dnc_3_limit_is_50000_per_file() {
    let mut text = String::from("電話番号\n");
    for i in 0..=MAX_ROWS_PER_FILE {
        text.push_str(&format!("090{:08}\n", i));
    }
    assert_eq!(
        parse_dnc_file(text.as_bytes()).unwrap_err().errors,
        vec![ImportError::TooManyRows {
            rows: MAX_ROWS_PER_FILE + 1,
            max: MAX_ROWS_PER_FILE
        }]
    );
}

/// A minimal `.xlsx` (inline strings and numbers, one sheet) built with the zip crate.
fn xlsx(rows: &[&[&str]], extra_parts: &[(&str, &str)]) -> Vec<u8> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, row) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, v) in row.iter().enumerate() {
            let col = (b'A' + c as u8) as char;
            if v.is_empty() {
                continue;
            }
            if v.bytes().all(|b| b.is_ascii_digit()) {
                sheet.push_str(&format!(r#"<c r="{col}{}"><v>{v}</v></c>"#, r + 1));
            } else {
                sheet.push_str(&format!(
                    r#"<c r="{col}{}" t="inlineStr"><is><t>{v}</t></is></c>"#,
                    r + 1
                ));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let parts = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_owned()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_owned()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut out = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in parts
        .iter()
        .map(|(n, b)| (*n, b.as_str()))
        .chain(extra_parts.iter().copied())
    {
        zip.start_file(name, options).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

#[test]
fn lst_3_xlsx_first_sheet_numbers_lose_no_zero() {
    let bytes = xlsx(
        &[
            &["名前", "電話番号"],
            &["山田", "312345678"],
            &[],
            &["鈴木", "090-1234-5678"],
        ],
        &[],
    );
    let (reserved, target) = new_folder();
    let list = parse_customer_file(
        &bytes,
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
    .unwrap();
    assert_eq!(list.source, SourceFormat::Xlsx);
    assert_eq!(list.columns(), ["名前", "電話番号"]);
    let rows: Vec<(usize, Vec<&str>)> =
        list.rows().map(|r| (r.line, r.cells().collect())).collect();
    assert_eq!(
        rows,
        vec![
            (2, vec!["山田", "0312345678"]),
            (4, vec!["鈴木", "09012345678"])
        ]
    );
    assert!(list.warnings.iter().any(|w| matches!(
        w,
        ImportWarning::Phone {
            line: 2,
            warning: PhoneWarning::LeadingZeroRestored,
            ..
        }
    )));
}

#[test]
fn lst_3_xlsx_rows_checked_like_csv() {
    let bytes = xlsx(
        &[
            &["電話番号", "名前"],
            &["abc", "x"],
            &["0312345678", "y", "extra"],
            &["", "no phone"],
        ],
        &[],
    );
    let (reserved, target) = new_folder();
    let errs = parse_customer_file(
        &bytes,
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
    .unwrap_err()
    .errors;
    assert!(matches!(
        errs.as_slice(),
        [
            ImportError::InvalidPhone { line: 2, .. },
            ImportError::RaggedRow {
                line: 3,
                expected: 2,
                found: 3
            },
            ImportError::InvalidPhone {
                line: 4,
                reason: PhoneError::Empty,
                ..
            }
        ]
    ));
}

#[test]
fn xlsx_with_a_huge_claimed_shared_string_count_is_refused_before_allocating() {
    let sst = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="99999999999999"><si><t>a</t></si></sst>"#;
    let padded = format!(
        r#"<?xml version="1.0"?><!--{}--><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount = '4000000'><si><t>a</t></si></sst>"#,
        "x".repeat(10_000)
    );
    let (reserved, target) = new_folder();
    let rules = ImportRules {
        reserved: &reserved,
        target,
    };
    for part in [sst, padded.as_str()] {
        let bytes = xlsx(
            &[&["電話番号"], &["0312345678"]],
            &[("xl/sharedStrings.xml", part)],
        );
        let errors = parse_customer_file(&bytes, &rules).unwrap_err().errors;
        assert!(matches!(
            errors.as_slice(),
            [ImportError::XlsxTooLarge { .. }]
        ));
    }
    let honest = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>電話番号</t></si></sst>"#;
    let bytes = xlsx(
        &[&["電話番号"], &["0312345678"]],
        &[("xl/sharedStrings.xml", honest)],
    );
    assert!(parse_customer_file(&bytes, &rules).is_ok());
}

#[test]
fn lst_3_xlsx_cells_read_as_excel_shows_them() {
    use calamine::{ExcelDateTime, ExcelDateTimeType};
    assert_eq!(cell_text(&DataRef::Float(312345678.0)), "312345678");
    assert_eq!(cell_text(&DataRef::Float(9012345678.0)), "9012345678");
    assert_eq!(cell_text(&DataRef::Float(1.5)), "1.5");
    assert_eq!(cell_text(&DataRef::Int(42)), "42");
    assert_eq!(cell_text(&DataRef::Bool(true)), "TRUE");
    assert_eq!(cell_text(&DataRef::SharedString("山田")), "山田");
    assert_eq!(cell_text(&DataRef::Empty), "");
    let date = ExcelDateTime::new(45000.0, ExcelDateTimeType::DateTime, false);
    assert_eq!(cell_text(&DataRef::DateTime(date)), "2023/03/15");
    let time = ExcelDateTime::new(45000.5, ExcelDateTimeType::DateTime, false);
    assert_eq!(cell_text(&DataRef::DateTime(time)), "2023/03/15 12:00:00");
    assert_eq!(
        cell_text(&DataRef::Error(calamine::CellErrorType::NA)),
        "#N/A"
    );
}

#[test]
fn lst_3_xlsx_with_styles_dates_durations_and_errors() {
    let bytes = include_bytes!("../../../fuzz/seeds/import/dates.xlsx");
    let (reserved, target) = new_folder();
    let list = parse_customer_file(
        bytes,
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
    .unwrap();
    assert_eq!(list.columns(), ["電話番号", "登録日", "時間"]);
    let rows: Vec<Vec<&str>> = list.rows().map(|r| r.cells().collect()).collect();
    assert_eq!(
        rows,
        vec![
            vec!["0312345678", "2023/03/15 12:00:00", "1.25"],
            vec!["09012345678", "-12", "#N/A"]
        ]
    );
}

#[test]
fn malformed_xlsx_found_by_fuzzing_is_refused_not_a_panic() {
    // A cell reference whose column overflows calamine's arithmetic: with overflow checks
    // (debug) calamine panics and the panic becomes a refusal; without, it is still refused.
    let bytes = include_bytes!("../../../fuzz/seeds/import/calamine-overflow.xlsx");
    let (reserved, target) = new_folder();
    let failure = parse_customer_file(
        bytes,
        &ImportRules {
            reserved: &reserved,
            target,
        },
    )
    .unwrap_err();
    assert!(!failure.errors.is_empty());
}

/// A 50,000-row, 12-column Shift_JIS list like the issue's benchmark file.
pub(crate) fn benchmark_file() -> Vec<u8> {
    let mut text = String::from(
        "電話番号,会社名,担当者,住所,郵便番号,メール,業種,従業員数,備考,電話番号2,FAX,URL\r\n",
    );
    for i in 0..MAX_ROWS_PER_FILE {
        text.push_str(&format!(
            "03-{:04}-{:04},株式会社サンプル商事{i},山田 太郎{},東京都千代田区丸の内{}丁目{}番{}号 サンプルビル{}階,100-{:04},taro{i}@example.co.jp,卸売業・小売業,{},\"前回不在、{}時以降に再コール希望。担当者は「営業部長」\",090-{:04}-{:04},03-{:04}-{:04},https://example.co.jp/company/{i}\r\n",
            1000 + i % 9000, i % 10000, i % 97, i % 9 + 1, i % 30 + 1, i % 20 + 1, i % 40 + 1, i % 10000, i % 5000, i % 12 + 8,
            1000 + i % 9000, i % 10000, 2000 + i % 7000, i % 10000,
        ));
    }
    encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
}

/// Timing harness, no assertion on time: run in release with
/// `cargo test --release -p kaden-domain list::import::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing harness, run by hand in release"]
fn timing_50000_rows_12_columns_shift_jis() {
    let bytes = benchmark_file();
    let (reserved, target) = new_folder();
    let rules = ImportRules {
        reserved: &reserved,
        target,
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let list = parse_customer_file(&bytes, &rules).unwrap();
        times.push(start.elapsed());
        assert_eq!(list.len(), MAX_ROWS_PER_FILE);
        assert_eq!(list.source, SourceFormat::Csv(TextEncoding::ShiftJis));
    }
    let start = std::time::Instant::now();
    let decoded = decode(&bytes).unwrap();
    let decode_only = start.elapsed();
    let start = std::time::Instant::now();
    let mut reader = Records::new(&decoded.text);
    let mut record = Vec::new();
    let mut records = 0;
    while let Some(line) = reader.next_into(&mut record) {
        line.unwrap();
        records += record.len();
    }
    let csv_only = start.elapsed();
    times.sort();
    println!(
        "50,000 x 12 Shift_JIS, {} bytes: decode+parse+normalise min {:?} median {:?} max {:?}; decode alone {:?}; csv records alone {:?} ({records} cells)",
        bytes.len(),
        times[0],
        times[2],
        times[4],
        decode_only,
        csv_only
    );
}
