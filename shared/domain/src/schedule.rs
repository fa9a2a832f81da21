//! Sending windows, timezones and slot planning (being written).
