//! Typed configuration: command-line flags, `KADEN_*` environment variables and an optional
//! TOML file, in that order of precedence, with embedded defaults so `kaden serve` runs with no
//! configuration at all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::calls::{TelephonySettings, TrunkSettings};
use crate::store::StoreConfig;

/// Settings of a running server.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…`; `None` keeps events in `<data_dir>/kaden.sqlite3`.
    pub database_url: Option<String>,
    pub time_zone: chrono_tz::Tz,
    /// Host name → tenant id (USR-7). Hosts not listed use `default_tenant`.
    pub tenant_hosts: HashMap<String, String>,
    pub default_tenant: String,
    /// Mark cookies `Secure` (HTTPS only). Defaults to on unless listening on loopback.
    pub secure_cookies: bool,
    /// SIP/RTP telephony; `None`: the server runs without calls.
    pub telephony: Option<TelephonySettings>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::store::redact),
            )
            .field("time_zone", &self.time_zone)
            .field("tenant_hosts", &self.tenant_hosts)
            .field("default_tenant", &self.default_tenant)
            .field("secure_cookies", &self.secure_cookies)
            .field("telephony", &self.telephony)
            .finish()
    }
}

impl Settings {
    /// Settings for tests and tools: everything default, data in `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            database_url: None,
            time_zone: chrono_tz::Asia::Tokyo,
            tenant_hosts: HashMap::new(),
            default_tenant: DEFAULT_TENANT.to_string(),
            secure_cookies: false,
            telephony: None,
        }
    }

    /// The embedded store's file (used when no database URL is set).
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("kaden.sqlite3")
    }

    pub fn store(&self) -> StoreConfig {
        match &self.database_url {
            Some(url) => StoreConfig::Postgres { url: url.clone() },
            None => StoreConfig::Sqlite {
                path: self.sqlite_path(),
            },
        }
    }

    /// The tenant a request's Host header belongs to (USR-7).
    pub fn tenant_for_host(&self, host: Option<&str>) -> &str {
        let name = host.map(|h| {
            h.rsplit_once(':').map_or(h, |(name, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    name
                } else {
                    h
                }
            })
        });
        name.and_then(|h| self.tenant_hosts.get(&h.to_ascii_lowercase()))
            .map_or(&self.default_tenant, String::as_str)
    }
}

pub const DEFAULT_TENANT: &str = "default";

/// What a config file may hold; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub time_zone: Option<String>,
    pub default_tenant: Option<String>,
    pub secure_cookies: Option<bool>,
    #[serde(default)]
    pub tenant_hosts: HashMap<String, String>,
    #[serde(default)]
    pub telephony: TelephonyOptions,
}

/// Telephony options: the `[telephony]` table of a config file, and `kaden serve`'s flags
/// (which win, field by field: [`TelephonyOptions::or`]).
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelephonyOptions {
    /// `false`: no telephony (`--no-telephony`).
    pub enabled: Option<bool>,
    pub sip_listen: Option<SocketAddr>,
    pub media_ip: Option<std::net::IpAddr>,
    /// The carrier's SIP address (`ip:port`); unset: the built-in test carrier.
    pub trunk: Option<SocketAddr>,
    pub trunk_domain: Option<String>,
    pub trunk_username: Option<String>,
    pub trunk_password: Option<String>,
    pub licensed_lines: Option<u32>,
    pub realm: Option<String>,
    /// Test carrier: weights `answer,busy,no_answer,not_in_service,fax`, e.g. "50,15,25,5,5".
    pub test_carrier_odds: Option<String>,
    pub test_carrier_answer_delay_ms: Option<u64>,
}

impl std::fmt::Debug for TelephonyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The trunk password stays out of logs.
        f.debug_struct("TelephonyOptions")
            .field("enabled", &self.enabled)
            .field("sip_listen", &self.sip_listen)
            .field("trunk", &self.trunk)
            .field("licensed_lines", &self.licensed_lines)
            .finish_non_exhaustive()
    }
}

impl TelephonyOptions {
    /// `self`, with `other` filling what `self` leaves unset.
    pub fn or(self, other: Self) -> Self {
        Self {
            enabled: self.enabled.or(other.enabled),
            sip_listen: self.sip_listen.or(other.sip_listen),
            media_ip: self.media_ip.or(other.media_ip),
            trunk: self.trunk.or(other.trunk),
            trunk_domain: self.trunk_domain.or(other.trunk_domain),
            trunk_username: self.trunk_username.or(other.trunk_username),
            trunk_password: self.trunk_password.or(other.trunk_password),
            licensed_lines: self.licensed_lines.or(other.licensed_lines),
            realm: self.realm.or(other.realm),
            test_carrier_odds: self.test_carrier_odds.or(other.test_carrier_odds),
            test_carrier_answer_delay_ms: self
                .test_carrier_answer_delay_ms
                .or(other.test_carrier_answer_delay_ms),
        }
    }
}

/// A configuration problem, said so that it can be fixed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("unknown time zone {0:?}: use an IANA name such as Asia/Tokyo or UTC")]
    TimeZone(String),
    #[error(
        "test carrier odds {0:?} must be five whole numbers: answer,busy,no_answer,not_in_service,fax (e.g. 50,15,25,5,5)"
    )]
    Odds(String),
    #[error(
        "database URL must start with postgres:// or postgresql:// (got {0}); leave it unset to use the embedded SQLite store"
    )]
    DatabaseUrl(String),
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })
    }
}

/// Values given on the command line or in the environment (clap fills these).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub time_zone: Option<String>,
    pub config: Option<PathBuf>,
    pub telephony: TelephonyOptions,
}

/// Parses test-carrier odds `answer,busy,no_answer,not_in_service,fax`.
pub fn parse_odds(text: &str) -> Result<kaden_telephony::carrier::Odds, ConfigError> {
    let n: Vec<u32> = text
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| ConfigError::Odds(text.to_string()))?;
    let [answer, busy, no_answer, not_in_service, fax] = n[..] else {
        return Err(ConfigError::Odds(text.to_string()));
    };
    Ok(kaden_telephony::carrier::Odds {
        answer,
        busy,
        no_answer,
        not_in_service,
        fax,
    })
}

fn telephony(
    o: TelephonyOptions,
    listen: SocketAddr,
) -> Result<Option<TelephonySettings>, ConfigError> {
    if o.enabled == Some(false) {
        return Ok(None);
    }
    // SIP's standard port beside the HTTP address; an ephemeral HTTP port (0, tests and
    // trials) gets an ephemeral SIP port too, so several servers can run side by side.
    let sip_listen = o
        .sip_listen
        .unwrap_or_else(|| SocketAddr::new(listen.ip(), if listen.port() == 0 { 0 } else { 5060 }));
    let mut t = TelephonySettings::local(sip_listen.ip(), sip_listen.port());
    t.sip_port_may_move = o.sip_listen.is_none();
    if let Some(ip) = o.media_ip {
        t.media_ip = ip;
    }
    if let Some(addr) = o.trunk {
        t.trunk = Some(TrunkSettings {
            addr,
            domain: o.trunk_domain.unwrap_or_default(),
            username: o.trunk_username,
            password: o.trunk_password,
        });
    }
    if let Some(lines) = o.licensed_lines {
        t.default_lines = lines;
    }
    if let Some(realm) = o.realm {
        t.realm = realm;
    }
    if let Some(odds) = o.test_carrier_odds {
        t.test_carrier.odds = parse_odds(&odds)?;
    }
    if let Some(ms) = o.test_carrier_answer_delay_ms {
        t.test_carrier.answer_delay = std::time::Duration::from_millis(ms);
    }
    Ok(Some(t))
}

/// Resolves settings: flags and environment first, then the file, then defaults.
pub fn resolve(o: Overrides) -> Result<Settings, ConfigError> {
    let file = match &o.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let listen = o
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let zone = o
        .time_zone
        .or(file.time_zone)
        .unwrap_or_else(|| "Asia/Tokyo".to_string());
    let time_zone = zone
        .parse()
        .map_err(|_| ConfigError::TimeZone(zone.clone()))?;
    let database_url = o
        .database_url
        .or(file.database_url)
        .filter(|u| !u.is_empty());
    if let Some(url) = database_url
        .as_ref()
        .filter(|u| !(u.starts_with("postgres://") || u.starts_with("postgresql://")))
    {
        return Err(ConfigError::DatabaseUrl(crate::store::redact(url)));
    }
    Ok(Settings {
        listen,
        data_dir: o
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("kaden-data")),
        database_url,
        time_zone,
        tenant_hosts: file
            .tenant_hosts
            .into_iter()
            .map(|(h, t)| (h.to_ascii_lowercase(), t))
            .collect(),
        default_tenant: file
            .default_tenant
            .unwrap_or_else(|| DEFAULT_TENANT.to_string()),
        secure_cookies: file.secure_cookies.unwrap_or(!listen.ip().is_loopback()),
        telephony: telephony(o.telephony.or(file.telephony), listen)?,
    })
}

/// Where Kaden keeps its data and how it listens. Each flag can also come from the
/// environment variable shown, or from the config file.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Address to listen on.
    #[arg(long, env = "KADEN_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Folder for the embedded SQLite store and recordings [default: ./kaden-data].
    #[arg(long, env = "KADEN_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host:5432/db) for production; unset = embedded SQLite.
    #[arg(
        long,
        env = "KADEN_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Time zone for "today" and displayed times (IANA name) [default: Asia/Tokyo].
    #[arg(long, env = "KADEN_TIME_ZONE", value_name = "ZONE")]
    time_zone: Option<String>,
    /// TOML file with any of: listen, data_dir, database_url, time_zone, default_tenant,
    /// secure_cookies, [tenant_hosts] (host = "tenant"), [telephony] (sip_listen, media_ip,
    /// trunk, trunk_username, trunk_password, licensed_lines, realm, test_carrier_odds,
    /// enabled…).
    #[arg(long, env = "KADEN_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

impl StoreArgs {
    /// Settings for a tool that works on an existing store: refuses, naming the flags, when
    /// there is no Kaden store where they point (never creates an empty one).
    pub(crate) async fn existing_settings(&self) -> Result<Settings, String> {
        let settings = self.settings()?;
        let store = settings.store();
        if !crate::store::exists(&store).await? {
            let place = match &store {
                crate::store::StoreConfig::Sqlite { path } => {
                    format!("no Kaden store at {}", path.display())
                }
                crate::store::StoreConfig::Postgres { url } => format!(
                    "the database {} holds no Kaden store",
                    crate::store::redact(url)
                ),
            };
            return Err(format!(
                "{place}: pass the server's --data-dir (KADEN_DATA_DIR) or --database-url (KADEN_DATABASE_URL); `kaden serve` or `kaden migrate` creates a store"
            ));
        }
        Ok(settings)
    }

    /// Settings for the tools (no telephony: only `serve` takes the SIP port).
    pub(crate) fn settings(&self) -> Result<Settings, String> {
        self.settings_with(TelephonyOptions {
            enabled: Some(false),
            ..TelephonyOptions::default()
        })
    }

    pub(crate) fn settings_with(&self, telephony: TelephonyOptions) -> Result<Settings, String> {
        resolve(Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            time_zone: self.time_zone.clone(),
            config: self.config.clone(),
            telephony,
        })
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = std::env::temp_dir().join(format!("kaden-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kaden.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\ntime_zone = \"UTC\"\n[tenant_hosts]\n\"ACME.example.jp\" = \"acme\"\n").unwrap();
        let s = resolve(Overrides {
            time_zone: Some("Asia/Tokyo".into()),
            config: Some(file.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.time_zone, chrono_tz::Asia::Tokyo);
        assert!(s.secure_cookies, "not loopback: cookies are Secure");
        assert_eq!(s.tenant_for_host(Some("acme.example.jp:8080")), "acme");
        assert_eq!(s.tenant_for_host(Some("other")), "default");
        assert!(matches!(s.store(), StoreConfig::Sqlite { .. }));
        std::fs::write(&file, "nonsense = 1\n").unwrap();
        assert!(matches!(
            resolve(Overrides {
                config: Some(file),
                ..Default::default()
            }),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            resolve(Overrides {
                time_zone: Some("Mars/Base".into()),
                ..Default::default()
            }),
            Err(ConfigError::TimeZone(_))
        ));
        assert!(matches!(
            resolve(Overrides {
                database_url: Some("mysql://x".into()),
                ..Default::default()
            }),
            Err(ConfigError::DatabaseUrl(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn telephony_from_flags_and_file_with_the_test_carrier_by_default() {
        let s = resolve(Overrides::default()).unwrap();
        let t = s.telephony.expect("serve runs telephony by default");
        assert_eq!(t.sip_listen, "127.0.0.1:5060".parse().unwrap());
        assert!(t.trunk.is_none(), "no trunk: the built-in test carrier");
        assert_eq!(t.default_lines, 10);
        let ephemeral = resolve(Overrides {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ephemeral.telephony.unwrap().sip_listen.port(), 0);
        let dir = std::env::temp_dir().join(format!("kaden-config-t-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kaden.toml");
        std::fs::write(&file, "[telephony]\ntrunk = \"192.0.2.10:5060\"\ntrunk_username = \"u\"\nlicensed_lines = 30\ntest_carrier_odds = \"1,0,0,0,0\"\n").unwrap();
        let s = resolve(Overrides {
            config: Some(file.clone()),
            telephony: TelephonyOptions {
                trunk_password: Some("secret".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
        let t = s.telephony.unwrap();
        let trunk = t.trunk.as_ref().unwrap();
        assert_eq!(trunk.addr, "192.0.2.10:5060".parse().unwrap());
        assert_eq!(trunk.password.as_deref(), Some("secret"));
        assert_eq!(t.default_lines, 30);
        assert_eq!(t.test_carrier.odds.answer, 1);
        assert!(
            !format!("{t:?}").contains("secret"),
            "the trunk password stays out of logs"
        );
        let flags = TelephonyOptions {
            trunk_password: Some("secret".into()),
            ..Default::default()
        };
        assert!(!format!("{flags:?}").contains("secret"));
        std::fs::write(&file, "[telephony]\nenabled = false\n").unwrap();
        assert!(
            resolve(Overrides {
                config: Some(file),
                ..Default::default()
            })
            .unwrap()
            .telephony
            .is_none()
        );
        assert!(matches!(parse_odds("1,2,3"), Err(ConfigError::Odds(_))));
        assert!(matches!(parse_odds("a,0,0,0,0"), Err(ConfigError::Odds(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
