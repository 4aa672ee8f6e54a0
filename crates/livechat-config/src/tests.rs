use super::*;

fn raw(pairs: &[(Setting, &str)]) -> RawConfig {
    let mut r = RawConfig::default();
    for (s, v) in pairs {
        r.set(*s, *v);
    }
    r
}

fn minimal() -> RawConfig {
    raw(&[(Setting::BrokerUrl, "wss://broker.example.com/mqtt")])
}

fn invalid_setting(r: &RawConfig) -> Setting {
    match Config::resolve(r, None) {
        Err(ConfigError::Invalid { setting, .. }) => setting,
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

#[test]
fn defaults_fill_everything_but_the_broker() {
    let c = Config::resolve(&minimal(), None).expect("valid");
    assert_eq!(c.token_url, "/api/mqtt-token");
    assert_eq!(c.refresh_url, "/api/mqtt-token/refresh");
    assert_eq!(c.room, "lobby");
    assert_eq!((c.protocol, c.qos), (ProtocolVersion::V5, QoS::AtLeastOnce));
    assert_eq!(c.max_message_length, 500);
    assert_eq!(c.user_name, None);
    assert_eq!(c.dev_login, None);
    assert_eq!(
        Config {
            broker_url: String::new(),
            ..c
        },
        Config::default()
    );
}

#[test]
fn broker_urls_come_as_a_json_array_or_a_list_attribute_and_each_is_validated() {
    let c = Config::from_json(
        r#"{"brokerUrl":"wss://a.example/mqtt","brokerUrls":["wss://b.example/mqtt","wss://c.example/mqtt"]}"#,
    )
    .expect("valid");
    assert_eq!(c.broker_url, "wss://a.example/mqtt");
    assert_eq!(
        c.broker_urls,
        ["wss://b.example/mqtt", "wss://c.example/mqtt"]
    );
    assert_eq!(Config::default().broker_urls, Vec::<String>::new());
    let attrs = |name: &str| {
        (name == "data-broker-urls").then(|| {
            "ws://127.0.0.1:1/mqtt, ws://127.0.0.1:2/mqtt ws://localhost:3/mqtt".to_owned()
        })
    };
    let c = Config::load(RawConfig::default(), attrs, "").expect("valid");
    assert_eq!(
        c.broker_urls,
        [
            "ws://127.0.0.1:1/mqtt",
            "ws://127.0.0.1:2/mqtt",
            "ws://localhost:3/mqtt"
        ]
    );
    let e = Config::from_json(r#"{"brokerUrls":["wss://ok.example/","ws://far.example/"]}"#)
        .unwrap_err();
    assert!(e.contains("brokerUrls (data-broker-urls)"), "{e}");
    assert!(e.contains("ws://far.example/"), "{e}");
    let e = Config::from_json(r#"{"brokerUrls":[1]}"#).unwrap_err();
    assert!(e.contains("must list strings"), "{e}");
}

#[test]
fn without_a_broker_url_the_token_response_must_name_one() {
    let c = Config::resolve(&RawConfig::default(), None).expect("valid");
    assert_eq!(c.broker_url, "");
    // An invalid broker URL is still named in words, by both of its names.
    let raw = RawConfig::from_json(r#"{"brokerUrl":"http://x.example/"}"#).expect("json");
    let e = Config::resolve(&raw, None).unwrap_err();
    assert!(e.to_string().contains("brokerUrl (data-broker-url)"));
}

#[test]
fn plain_ws_is_allowed_only_to_loopback_hosts() {
    for ok in [
        "ws://127.0.0.1:8083/mqtt",
        "ws://127.8.9.10/",
        "ws://localhost:1/",
        "WS://LOCALHOST/",
        "ws://[::1]:8083",
        "wss://chat.example.com/mqtt",
    ] {
        let r = raw(&[(Setting::BrokerUrl, ok)]);
        assert!(Config::resolve(&r, None).is_ok(), "{ok}");
    }
    for bad in [
        "ws://example.com/mqtt",
        "ws://128.0.0.1/",
        "ws://[::2]/",
        "ws://127.0.0.1.evil.com/",
        "ws://localhost@evil.com/",
        "https://broker.example.com",
        "broker.example.com",
        "wss://",
    ] {
        assert_eq!(
            invalid_setting(&raw(&[(Setting::BrokerUrl, bad)])),
            Setting::BrokerUrl,
            "{bad}"
        );
    }
}

#[test]
fn rooms_must_match_the_allowed_pattern() {
    for ok in ["a", "lobby", "Room_1-b", &"x".repeat(64)] {
        assert!(is_valid_room(ok), "{ok}");
    }
    for bad in ["", "a b", "a/b", "#", "+", "é", &"x".repeat(65)] {
        let r = minimal().overlaid_with(&raw(&[(Setting::Room, "ok")]));
        let e = Config::resolve(&r, Some(bad));
        if bad.is_empty() {
            assert!(e.is_ok(), "an empty ?room= is ignored");
        } else {
            assert_eq!(e.unwrap_err().setting(), Some(Setting::Room), "{bad}");
        }
    }
}

#[test]
fn the_page_urls_room_wins_over_configuration() {
    let r = minimal().overlaid_with(&raw(&[(Setting::Room, "general")]));
    assert_eq!(
        Config::resolve(&r, Some("support")).expect("valid").room,
        "support"
    );
    assert_eq!(Config::resolve(&r, None).expect("valid").room, "general");
}

#[test]
fn attributes_override_the_file() {
    let file = RawConfig::from_json(
        r#"{"brokerUrl":"wss://a.example/","room":"file","qos":0,"maxMessageLength":200}"#,
    )
    .expect("valid json");
    let attrs = RawConfig::from_attributes(|name| match name {
        "data-room" => Some("attr".into()),
        "data-qos" => Some("2".into()),
        _ => None,
    });
    let c = Config::resolve(&file.overlaid_with(&attrs), None).expect("valid");
    assert_eq!(
        (c.room.as_str(), c.qos, c.max_message_length),
        ("attr", QoS::ExactlyOnce, 200)
    );
    assert_eq!(c.broker_url, "wss://a.example/");
}

#[test]
fn load_takes_the_file_then_the_attributes_then_the_query() {
    let file = RawConfig::from_json(r#"{"room":"file","userName":"Ann"}"#).expect("json");
    let attribute = |name: &str| (name == "data-room").then(|| "attr".to_owned());
    let c = Config::load(file.clone(), attribute, "").expect("valid");
    assert_eq!(
        (c.room.as_str(), c.user_name.as_deref()),
        ("attr", Some("Ann"))
    );
    let c = Config::load(file, attribute, "?x=1&room=query").expect("valid");
    assert_eq!(c.room, "query");
    let e = Config::load(RawConfig::default(), |_| None, "?room=a%2Fb").unwrap_err();
    assert_eq!(e.setting(), Some(Setting::Room));
}

#[test]
fn the_file_accepts_snake_case_keys_and_ignores_unknown_ones() {
    let r = RawConfig::from_json(r#"{"broker_url":"wss://b/","extra":[1],"token_url":null}"#)
        .expect("valid");
    assert_eq!(r.get(Setting::BrokerUrl), Some("wss://b/"));
    assert_eq!(r.get(Setting::TokenUrl), None);
    let c = Config::from_json(
        r#"{"brokerWsUrl":" ws://localhost/mqtt ","token_url":"/t/","mqtt_version":4}"#,
    )
    .expect("valid");
    assert_eq!(c.broker_url, "ws://localhost/mqtt");
    assert_eq!(
        (c.token_url.as_str(), c.refresh_url.as_str()),
        ("/t/", "/t/refresh")
    );
    assert_eq!(c.protocol, ProtocolVersion::V311);
}

#[test]
fn the_dev_stacks_file_gives_every_url() {
    let c = Config::from_json(
        r#"{"brokerUrl":"ws://127.0.0.1:9001/mqtt","tokenUrl":"/api/mqtt-token",
            "refreshUrl":"/api/mqtt-token/refresh","devLogin":"/dev/login"}"#,
    )
    .expect("valid");
    assert_eq!(c.broker_url, "ws://127.0.0.1:9001/mqtt");
    assert_eq!(c.token_url, "/api/mqtt-token");
    assert_eq!(c.refresh_url, "/api/mqtt-token/refresh");
    assert_eq!(c.dev_login.as_deref(), Some("/dev/login"));
}

#[test]
fn a_malformed_file_is_refused_and_the_key_named() {
    assert!(RawConfig::from_json("not json").is_err());
    let not_object = RawConfig::from_json("[]").unwrap_err();
    assert!(not_object.contains("object"), "{not_object}");
    let wrong_type = RawConfig::from_json(r#"{"room":{"a":1}}"#).unwrap_err();
    assert!(wrong_type.contains("room"), "{wrong_type}");
    let version = Config::from_json(r#"{"mqttVersion":"6"}"#).unwrap_err();
    assert!(version.contains("mqttVersion"), "{version}");
}

#[test]
fn version_qos_and_length_are_checked_and_named() {
    let with = |s, v| minimal().overlaid_with(&raw(&[(s, v)]));
    assert_eq!(
        Config::resolve(&with(Setting::MqttVersion, "3.1.1"), None)
            .unwrap()
            .protocol,
        ProtocolVersion::V311
    );
    assert_eq!(
        invalid_setting(&with(Setting::MqttVersion, "4.5")),
        Setting::MqttVersion
    );
    assert_eq!(invalid_setting(&with(Setting::Qos, "3")), Setting::Qos);
    assert_eq!(
        invalid_setting(&with(Setting::MaxMessageLength, "0")),
        Setting::MaxMessageLength
    );
    assert_eq!(
        invalid_setting(&with(Setting::MaxMessageLength, "lots")),
        Setting::MaxMessageLength
    );
    assert_eq!(
        invalid_setting(&with(Setting::MaxMessageLength, "10001")),
        Setting::MaxMessageLength
    );
    assert_eq!(
        invalid_setting(&with(Setting::UserName, &"n".repeat(65))),
        Setting::UserName
    );
}

#[test]
fn qos_numbers_map_onto_the_hooks_qos() {
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        assert_eq!(qos_from_number(&(qos as u8).to_string()), Some(qos));
    }
    for bad in ["3", "0.5", "", "one"] {
        assert_eq!(qos_from_number(bad), None, "{bad}");
    }
}

/// Every http(s) setting follows the token URL's rules.
const HTTP_URL_SETTINGS: [Setting; 3] = [Setting::TokenUrl, Setting::RefreshUrl, Setting::DevLogin];

#[test]
fn token_urls_are_paths_or_https_except_to_loopback() {
    let with = |s, v| minimal().overlaid_with(&raw(&[(s, v)]));
    for setting in HTTP_URL_SETTINGS {
        for ok in [
            "/api/t",
            "api/t",
            "https://site.example/api/t",
            "http://127.0.0.1:8080/api/t",
        ] {
            assert!(Config::resolve(&with(setting, ok), None).is_ok(), "{ok}");
        }
        for bad in [
            "http://site.example/t",
            "//site.example/t",
            "javascript:alert(1)//x://",
            "javascript:alert(1)",
            "data:application/json,{}",
            "blob:https://site.example/1",
            "/\\evil.example/t",
            "\\\\evil.example/t",
            "/api\ttoken",
            "ftp://x/",
        ] {
            assert_eq!(invalid_setting(&with(setting, bad)), setting, "{bad}");
        }
    }
    assert_eq!(
        invalid_setting(&with(Setting::RefreshUrl, "http://x.example/r")),
        Setting::RefreshUrl
    );
}

#[test]
fn the_dev_sign_in_is_offered_only_when_configured() {
    assert_eq!(Config::default().dev_login, None);
    let attrs = RawConfig::from_attributes(|name| {
        (name == "data-dev-login").then(|| " /dev/login ".to_owned())
    });
    let c = Config::resolve(&attrs, None).expect("valid");
    assert_eq!(c.dev_login.as_deref(), Some("/dev/login"));
    let file = RawConfig::from_json(r#"{"dev_login":"/dev/login"}"#).expect("json");
    assert_eq!(file.get(Setting::DevLogin), Some("/dev/login"));
}

#[test]
fn the_topic_mode_is_per_author_unless_the_site_says_shared() {
    let with = |v| minimal().overlaid_with(&raw(&[(Setting::TopicMode, v)]));
    let mode = |r: &RawConfig| Config::resolve(r, None).map(|c| c.topic_mode);
    assert_eq!(mode(&minimal()), Ok(TopicMode::PerAuthor));
    assert_eq!(mode(&with("shared")), Ok(TopicMode::Shared));
    assert_eq!(mode(&with("per-author")), Ok(TopicMode::PerAuthor));
    assert_eq!(invalid_setting(&with("authors")), Setting::TopicMode);
    let file = RawConfig::from_json(r#"{"topicMode":"shared"}"#).expect("json");
    assert_eq!(file.get(Setting::TopicMode), Some("shared"));
}

#[test]
fn the_refresh_url_follows_a_custom_token_url() {
    let r = minimal().overlaid_with(&raw(&[(Setting::TokenUrl, "https://h.example/t/")]));
    assert_eq!(
        Config::resolve(&r, None).unwrap().refresh_url,
        "https://h.example/t/refresh"
    );
}

#[test]
fn the_room_is_read_from_the_query_string() {
    assert_eq!(room_from_query("?room=abc"), Some("abc".into()));
    assert_eq!(room_from_query("?x=1&room=a%2Fb"), Some("a/b".into()));
    assert_eq!(room_from_query("?rooms=1"), None);
    assert_eq!(room_from_query(""), None);
}

#[test]
fn every_setting_has_its_own_key_and_attribute() {
    let mut keys: Vec<_> = Setting::ALL.iter().map(|s| s.json_key()).collect();
    let mut attributes: Vec<_> = Setting::ALL.iter().map(|s| s.data_attribute()).collect();
    keys.sort_unstable();
    keys.dedup();
    attributes.sort_unstable();
    attributes.dedup();
    assert_eq!(
        (keys.len(), attributes.len()),
        (Setting::ALL.len(), Setting::ALL.len())
    );
}

#[test]
fn numbers_keep_their_text_duplicate_keys_take_the_last_and_bad_json_says_where() {
    let r = RawConfig::from_json(r#"{"qos":0,"maxMessageLength":250,"room":"a","room":"b"}"#)
        .expect("json");
    assert_eq!(r.get(Setting::Qos), Some("0"));
    assert_eq!(r.get(Setting::MaxMessageLength), Some("250"));
    assert_eq!(r.get(Setting::Room), Some("b"));
    let error = RawConfig::from_json(r#"{"room":"a",}"#).unwrap_err();
    assert_eq!(error, "expected a string key at byte 12");
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    assert!(RawConfig::from_json(&deep).is_err());
}

#[test]
fn invalid_values_are_quoted_json_style_in_errors() {
    let error = Config::from_json(r#"{"qos":"9\"\u0001é"}"#).unwrap_err();
    assert!(error.contains(r#"("9\"\u0001é")"#), "{error}");
}

#[test]
fn keep_alive_is_seconds_within_bounds_from_the_file_or_the_attribute() {
    assert_eq!(
        Config::resolve(&minimal(), None)
            .expect("valid")
            .keep_alive_secs,
        30
    );
    let file = RawConfig::from_json(r#"{"keepAlive":5}"#).expect("json");
    let c = Config::resolve(&minimal().overlaid_with(&file), None).expect("valid");
    assert_eq!(c.keep_alive_secs, 5);
    let attr = RawConfig::from_attributes(|n| (n == "data-keep-alive").then(|| "60".into()));
    let c = Config::resolve(&minimal().overlaid_with(&file).overlaid_with(&attr), None);
    assert_eq!(c.expect("valid").keep_alive_secs, 60);
    for bad in ["0", "1", "3601", "-5", "4.5", "soon"] {
        let r = minimal().overlaid_with(&raw(&[(Setting::KeepAlive, bad)]));
        assert_eq!(invalid_setting(&r), Setting::KeepAlive, "{bad}");
    }
    let e = Config::resolve(
        &minimal().overlaid_with(&raw(&[(Setting::KeepAlive, "0")])),
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("keepAlive (data-keep-alive)"), "{e}");
}

#[test]
fn stored_messages_default_to_200_take_0_to_500_and_name_the_setting_when_wrong() {
    let c = Config::resolve(&minimal(), None).expect("valid");
    assert_eq!(c.stored_messages, DEFAULT_STORED_MESSAGES);
    assert_eq!(DEFAULT_STORED_MESSAGES, 200);
    let file = RawConfig::from_json(r#"{"storedMessages":0}"#).expect("json");
    let c = Config::resolve(&minimal().overlaid_with(&file), None).expect("valid");
    assert_eq!(c.stored_messages, 0, "0 keeps nothing");
    let attr = RawConfig::from_attributes(|n| (n == "data-stored-messages").then(|| "500".into()));
    let c = Config::resolve(&minimal().overlaid_with(&file).overlaid_with(&attr), None);
    assert_eq!(c.expect("valid").stored_messages, 500);
    let snake = RawConfig::from_json(r#"{"stored_messages":"7"}"#).expect("json");
    let c = Config::resolve(&minimal().overlaid_with(&snake), None).expect("valid");
    assert_eq!(c.stored_messages, 7);
    for bad in ["501", "-1", "2.5", "lots", "1e3"] {
        let r = minimal().overlaid_with(&raw(&[(Setting::StoredMessages, bad)]));
        assert_eq!(invalid_setting(&r), Setting::StoredMessages, "{bad}");
    }
    let e = Config::resolve(
        &minimal().overlaid_with(&raw(&[(Setting::StoredMessages, "9000")])),
        None,
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("storedMessages (data-stored-messages)")
            && text.contains("0 (keep nothing) to 500"),
        "{text}"
    );
}

#[test]
fn the_history_url_is_optional_and_checked_like_the_token_url() {
    assert_eq!(
        Config::resolve(&minimal(), None)
            .expect("valid")
            .history_url,
        None
    );
    let file = RawConfig::from_json(r#"{"historyUrl":"/api/history"}"#).expect("json");
    let c = Config::resolve(&minimal().overlaid_with(&file), None).expect("valid");
    assert_eq!(c.history_url.as_deref(), Some("/api/history"));
    let attr = RawConfig::from_attributes(|n| {
        (n == "data-history-url").then(|| "https://www.example.com/history".into())
    });
    let c = Config::resolve(&minimal().overlaid_with(&attr), None).expect("valid");
    assert_eq!(
        c.history_url.as_deref(),
        Some("https://www.example.com/history")
    );
    for bad in [
        "//evil.example/h",
        "javascript:alert(1)",
        "http://example.com/h",
    ] {
        let r = minimal().overlaid_with(&raw(&[(Setting::HistoryUrl, bad)]));
        assert_eq!(invalid_setting(&r), Setting::HistoryUrl, "{bad}");
    }
}

#[test]
fn sharing_tabs_is_on_by_default_and_switched_off_by_the_file_or_the_attribute() {
    let share = |r: &RawConfig| Config::resolve(r, None).expect("valid").share_tabs;
    assert!(share(&minimal()));
    let off = RawConfig::from_json(r#"{"shareTabs":false}"#).expect("json");
    assert!(!share(&minimal().overlaid_with(&off)));
    let snake = RawConfig::from_json(r#"{"share_tabs":"off"}"#).expect("json");
    assert!(!share(&minimal().overlaid_with(&snake)));
    let attr = RawConfig::from_attributes(|n| (n == "data-share-tabs").then(|| "true".into()));
    assert!(share(&minimal().overlaid_with(&off).overlaid_with(&attr)));
    for bad in ["yes please", "2", "False!"] {
        let r = minimal().overlaid_with(&raw(&[(Setting::ShareTabs, bad)]));
        assert_eq!(invalid_setting(&r), Setting::ShareTabs, "{bad}");
    }
    assert!(
        RawConfig::from_json(r#"{"keepAlive":true}"#).is_err(),
        "booleans: shareTabs only"
    );
}
