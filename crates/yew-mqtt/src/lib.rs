//! Yew hooks (use_mqtt) over the browser MQTT driver.
