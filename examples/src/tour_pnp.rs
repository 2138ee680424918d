//! Step 8 of the tour: shipping notices by phone number (LINE notification messages),
//! one delivered by LINE and one that falls back to SMS.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use line_core::clock::ManualClock;
use line_core::model::TextMessage;
use line_emulator::{Emulator, PhoneUser};
use line_pnp::{
    DeliveryTag, FallbackReason, Notice, NoticeCounts, NoticeRecord, NoticeState, Notifier, PhoneParser, Sms, SmsError,
    SmsSender,
};

use crate::error::Error;
use crate::table::{heading, Table};

/// How long the shop waits for LINE's delivery webhook before sending the SMS.
pub const WAIT_FOR_DELIVERY: Duration = Duration::from_secs(600);

/// The shop's SMS gateway in the tour: it records what it would send, once per
/// idempotency key, as a real gateway with idempotency keys does.
#[derive(Debug, Default)]
pub struct ShopSms {
    keys: Mutex<Vec<String>>,
}

impl ShopSms {
    /// The idempotency keys of the SMS sent, in order.
    pub fn sent(&self) -> Vec<String> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl SmsSender for ShopSms {
    async fn send(&self, sms: &Sms<'_>) -> Result<(), SmsError> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if !keys.iter().any(|k| k == sms.idempotency_key) {
            keys.push(sms.idempotency_key.to_owned());
        }
        Ok(())
    }
}

/// A customer of the step: a name, the number as the shop keeps it, and LINE's view of it.
struct Customer {
    name: &'static str,
    order: &'static str,
    local: &'static str,
    on_line: bool,
}

const CUSTOMERS: [Customer; 2] = [
    Customer {
        name: "Hana",
        order: "A1001",
        local: "090-1234-0001",
        on_line: true,
    },
    Customer {
        name: "Kenji",
        order: "A1002",
        local: "080-5555-0002",
        on_line: false,
    },
];

fn outcome(r: &NoticeRecord) -> String {
    match (r.state, r.fallback) {
        (NoticeState::Delivered, _) => "delivered by LINE (delivery webhook with its tag)".to_owned(),
        (NoticeState::SmsSent, Some(FallbackReason::LineCannotDeliver)) => {
            "SMS: LINE answered 422 (no LINE account for the number)".to_owned()
        }
        (NoticeState::SmsSent, Some(FallbackReason::NoDeliveryInTime)) => {
            "SMS: no delivery webhook within 10 minutes".to_owned()
        }
        (state, _) => format!("{state:?}"),
    }
}

/// Runs step 8: two shipping notices, their outcomes, and the totals.
pub async fn step(
    out: &mut dyn Write,
    emu: &Emulator,
    notifier: &Notifier,
    sms: &ShopSms,
    clock: &ManualClock,
) -> Result<NoticeCounts, Error> {
    heading(out, "8. Notification messages: shipping notices by phone number")?;
    let parser = PhoneParser::new();
    let mut tags = Vec::new();
    for (i, c) in CUSTOMERS.iter().enumerate() {
        let phone = parser
            .parse(&format!("customers[{i}].phone"), c.local)
            .map_err(Error::notice("read a phone number"))?;
        // LINE's side: whether the number has a LINE account.
        let user = if c.on_line {
            PhoneUser::with_line(phone.expose_e164())
        } else {
            PhoneUser::without_line(phone.expose_e164())
        };
        emu.add_phone_user(user).map_err(Error::emulator("add a phone user"))?;
        let text = format!("{}, your order {} has shipped and arrives tomorrow.", c.name, c.order);
        let tag = DeliveryTag::from_reference(&format!("order-{}", c.order)).map_err(Error::notice("make a tag"))?;
        let notice = Notice::new(tag.clone(), phone, vec![TextMessage::new(text.clone()).into()], text);
        notifier.send(notice).await.map_err(Error::notice("send"))?;
        tags.push(tag);
    }
    // LINE's delivery webhook reaches the shop's bot, which hands it to the notifier.
    let store = notifier.store();
    for _ in 0..250 {
        let delivered = store.counts().await.map_err(Error::notice("count"))?.delivered;
        if delivered >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ten minutes on, the sweep falls back what LINE did not deliver: nothing is left.
    clock.advance(jiff::SignedDuration::try_from(WAIT_FOR_DELIVERY).unwrap_or(jiff::SignedDuration::ZERO));
    let swept = notifier.sweep(100).await.map_err(Error::notice("sweep"))?;

    let mut t = Table::new(["order", "customer", "tag", "outcome"]);
    for (c, tag) in CUSTOMERS.iter().zip(&tags) {
        let r = store
            .get(tag)
            .await
            .map_err(Error::notice("read a notice"))?
            .ok_or_else(|| Error::check(format!("notice {tag} was not recorded")))?;
        t.row([c.order.to_owned(), c.name.to_owned(), tag.to_string(), outcome(&r)]);
    }
    t.write_to(out)?;
    let counts = store.counts().await.map_err(Error::notice("count"))?;
    writeln!(
        out,
        "Totals: {} delivered by LINE, {} by SMS, {} failed; {} SMS sent, none twice (the sweep found {} more to send).",
        counts.delivered,
        counts.sms_sent,
        counts.failed,
        sms.sent().len(),
        swept.sms_sent
    )?;
    writeln!(
        out,
        "Phone numbers are hashed (SHA-256 of E.164) for LINE and never printed; the tags are the shop's order numbers."
    )?;
    if counts.delivered != 1 || counts.sms_sent != 1 || sms.sent().len() != 1 || emu.pnp_refused() != 1 {
        return Err(Error::check(format!(
            "notification messages: expected 1 delivered by LINE and 1 SMS, got {counts:?} and {} SMS",
            sms.sent().len()
        )));
    }
    writeln!(out, "Checked on the emulator: 1 delivered, 1 answered 422, 1 SMS.")?;
    Ok(counts)
}
