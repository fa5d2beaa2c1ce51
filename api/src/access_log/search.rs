//! Search arguments given by users (GraphQL arguments, URL query of the CSV route): times in
//! the configured zone, outcomes by name.

use super::*;

/// Reads a time given by a user: RFC 3339 (`2026-11-23T09:00:00+09:00`) or a day
/// (`2026-11-23`) in the configured zone. A day given as the end of a period (`end = true`)
/// includes that whole day.
pub fn parse_time(
    what: &str,
    text: &str,
    zone: chrono_tz::Tz,
    end: bool,
) -> Result<DateTime<Utc>, crate::error::ApiError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        if let Some(at) = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
        {
            return Ok(at.with_timezone(&Utc));
        }
    }
    Err(crate::error::ApiError::new(
        ErrorCode::BadTime,
        format!(
            "{what}「{text}」は日時として読めません。2026-11-23 または 2026-11-23T09:00:00+09:00 の形で\
             指定してください ({what} {text:?} is not a time: give a day such as 2026-11-23 (in \
             {zone}) or an RFC 3339 time such as 2026-11-23T09:00:00+09:00)"
        ),
    ))
}

/// Reads an outcome name: `success`, `failure` or `refused`.
pub fn parse_outcome(text: &str) -> Result<Outcome, crate::error::ApiError> {
    [Outcome::Success, Outcome::Failure, Outcome::Refused]
        .into_iter()
        .find(|o| o.name().eq_ignore_ascii_case(text.trim()))
        .ok_or_else(|| {
            crate::error::ApiError::new(
                ErrorCode::BadOutcome,
                format!(
                    "結果「{text}」は success, failure, refused のいずれかで指定してください \
                     (outcome {text:?} is unknown: use success, failure or refused)"
                ),
            )
        })
}

/// A search over the access log from user-given texts (GraphQL arguments, URL query).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct SearchArgs {
    pub user: Option<String>,
    pub user_id: Option<u64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub operation: Option<String>,
    pub address: Option<String>,
    pub outcome: Option<String>,
}

impl SearchArgs {
    pub fn filter(
        &self,
        zone: chrono_tz::Tz,
    ) -> Result<kaden_projections::access_log::AccessFilter, crate::error::ApiError> {
        let non_empty = |s: &Option<String>| {
            s.as_ref()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(kaden_projections::access_log::AccessFilter {
            user_id: self.user_id,
            username: non_empty(&self.user),
            from: non_empty(&self.from)
                .map(|t| parse_time("開始日時 from", &t, zone, false))
                .transpose()?,
            to: non_empty(&self.to)
                .map(|t| parse_time("終了日時 to", &t, zone, true))
                .transpose()?,
            operation: non_empty(&self.operation),
            address: non_empty(&self.address),
            outcome: non_empty(&self.outcome)
                .map(|o| parse_outcome(&o))
                .transpose()?,
        })
    }
}
