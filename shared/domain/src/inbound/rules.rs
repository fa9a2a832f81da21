//! Every pattern and weight the inbound steps use, in one place, so tuning is
//! one diff and a reviewer can read the whole rule set at once. Patterns are
//! case-insensitive regexes (Unicode), compiled once into sets. Weights are in
//! `0..1`; several rules for one outcome combine as independent evidence
//! (`1 − Π(1 − w)`), so two medium rules outweigh one.
//!
//! Languages: English, German, French, Spanish, Italian, Dutch, Portuguese.

use super::ReplyClass;
use regex::Regex;
use std::sync::LazyLock;

/// One named pattern with its weight.
pub(super) struct Rule {
    pub id: &'static str,
    pub weight: f64,
    pub pattern: &'static str,
}

const fn rule(id: &'static str, weight: f64, pattern: &'static str) -> Rule {
    Rule { id, weight, pattern }
}

/// A compiled table: its rules, each compiled on its own.
///
/// Why not one `RegexSet`: the regex crate builds its DFA lazily, and a set's
/// states combine all its patterns, so nearly every new text needs new states.
/// Measured on the corpus, a set of the class rules cost ≈ 1.3 ms of CPU for
/// a message it had not seen (≈ 30 µs once warm); one small DFA per rule
/// warms up after a few messages and stays warm.
pub(super) struct RuleSet {
    pub rules: &'static [Rule],
    compiled: Vec<Regex>,
}

/// `\b` as an ASCII word boundary. Unicode word boundaries make the regex
/// crate's lazy DFA give up on any non-ASCII byte and fall back to the much
/// slower PikeVM (≈ 2 ms instead of ≈ 10 µs for a short German reply). No
/// pattern has a non-ASCII letter next to `\b`, so the meaning is the same.
pub(super) fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Rule patterns are written in lower case and matched against lower-cased
/// text: case-insensitive Unicode classes (`k` is also the Kelvin sign) make
/// every DFA state larger.
fn compile_all(patterns: impl Iterator<Item = &'static str>) -> Vec<Regex> {
    patterns
        .map(|pattern| {
            regex::RegexBuilder::new(&ascii_boundaries(pattern))
                .size_limit(16 << 20)
                .build()
                .unwrap_or_else(|e| panic!("inbound rule {pattern:?} does not compile: {e}"))
        })
        .collect()
}

impl RuleSet {
    fn new(rules: &'static [Rule]) -> Self {
        Self {
            rules,
            compiled: compile_all(rules.iter().map(|r| r.pattern)),
        }
    }

    /// The rules that match `text`, in table order.
    pub fn matching(&self, text: &str) -> impl Iterator<Item = &'static Rule> + use<'_> {
        let text = text.to_lowercase();
        let rules = self.rules;
        self.compiled
            .iter()
            .enumerate()
            .filter(move |(_, regex)| regex.is_match(&text))
            .map(move |(i, _)| &rules[i])
    }
}

/// Combines independent evidence: `1 − Π(1 − w)`.
pub(super) fn combine(weights: impl IntoIterator<Item = f64>) -> f64 {
    1.0 - weights
        .into_iter()
        .fold(1.0, |miss, w| miss * (1.0 - w.clamp(0.0, 1.0)))
}

fn regex(pattern: &str) -> Regex {
    regex::RegexBuilder::new(&ascii_boundaries(pattern))
        .case_insensitive(true)
        .build()
        .unwrap_or_else(|e| panic!("inbound pattern does not compile: {e}"))
}

// ---------------------------------------------------------------------------
// Kind: bounces
// ---------------------------------------------------------------------------

/// A bounce needs this much combined evidence when it is not an RFC 3464
/// multipart/report (which is decisive on its own).
pub(super) const BOUNCE_THRESHOLD: f64 = 0.8;

/// Matched against the From address and display name.
pub(super) static BOUNCE_FROM: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::new(
        const {
            &[
                rule("from.mailer_daemon", 0.55, r"^mailer-daemon@|^mailer-daemon$"),
                rule("from.postmaster", 0.5, r"^postmaster@|^postmaster$"),
                rule(
                    "from.mail_delivery_system",
                    0.55,
                    r"mail delivery (subsystem|system)|mail administrator|mailer-daemon|microsoft outlook|mail delivery",
                ),
            ]
        },
    )
});

pub(super) static BOUNCE_SUBJECT: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::new(
        const {
            &[
                rule(
                    "subject.undeliverable",
                    0.65,
                    r"^\s*(undeliverable|undelivered mail|unzustellbar|nicht zustellbar|non remis|no se puede entregar|non recapitabile|onbestelbaar|não é possível entregar|não entregue)",
                ),
                rule(
                    "subject.delivery_failure",
                    0.65,
                    r"delivery status notification|mail delivery (failed|failure)|returned mail|failure notice|delivery (has )?failed|delivery failure|non-?delivery|undelivered|could not be delivered|mail system error|returning message to sender|échec de (la )?remise|mancato recapito|no entregado|niet bezorgd",
                ),
                rule(
                    "subject.delay",
                    0.6,
                    r"delivery status notification \(delay\)|delivery delayed|delayed mail|warning: could not send message|still being retried|delivery (has been )?delayed",
                ),
            ]
        },
    )
});

/// Searched in the first [`BOUNCE_BODY_WINDOW`] bytes of the body.
pub(super) static BOUNCE_BODY: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::new(
        const {
            &[
                rule(
                    "body.not_delivered",
                    0.55,
                    r"(could not|couldn't|wasn't|was not|cannot|can't|has not been|hasn't been) (be )?delivered|delivery to the following recipients? (failed|has been delayed)|delivery has failed|message not delivered|(wasn't|was not|unable to|not able to) (be )?deliver",
                ),
                rule(
                    "body.mta_report",
                    0.6,
                    r"this is the mail system at host|permanent fatal errors|i'm afraid i wasn't able to deliver|this is an automatically generated delivery status notification|mail delivery subsystem|the following address(es)? failed|a message that you sent could not be delivered|transcript of session follows|delivery status notification",
                ),
                rule(
                    "body.localized_not_delivered",
                    0.55,
                    r"konnte nicht zugestellt werden|nicht zugestellt|n'a pas pu être remis|no se (pudo|ha podido) entregar|non è stato possibile recapitare|(kan|kon) niet (worden )?bezorgd|não (pôde|foi possível) ser entregue|não pôde ser entregue",
                ),
                rule(
                    "body.recipient_rejected",
                    0.4,
                    r"recipient address rejected|user unknown|no such user|mailbox unavailable|address not found|does not exist|mailbox (is )?full|over quota",
                ),
            ]
        },
    )
});

/// How much of the body the bounce phrases are looked for in: MTAs say it first.
pub(super) const BOUNCE_BODY_WINDOW: usize = 6 * 1024;

/// Weight of an `X-Failed-Recipients` header (Exim, Gmail).
pub(super) const BOUNCE_FAILED_RECIPIENTS_HEADER: f64 = 0.7;
/// Weight of an SMTP status code in the body of an apparent bounce.
pub(super) const BOUNCE_STATUS_IN_TEXT: f64 = 0.3;
/// Weight of a null `Return-Path: <>` (RFC 5321: notifications are sent with it).
pub(super) const NULL_RETURN_PATH: f64 = 0.25;

/// Lines where a plain-text bounce starts the copy of the returned message;
/// status codes after them belong to the original, not to the failure.
pub(super) static RETURNED_COPY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?m)^\s*(-{2,}\s*)?(this is a copy of the message|below this line is a copy of the message|original message (headers|follows)|original message|------ this is a copy|the original message was received|original-envelope|returned message|message d'origine|ursprüngliche nachricht|mensaje original)",
    )
});

/// RFC 3463 enhanced status codes (`5.1.1`), not inside a longer dotted number.
pub(super) static ENHANCED_STATUS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:\.(?:\s|$)|[^\d.]|$)"));

/// RFC 5321 reply codes (`550`, `452-`) as MTAs quote them.
pub(super) static SMTP_CODE: LazyLock<Regex> = LazyLock::new(|| regex(r"(?:^|[\s(:#])([45][0-5]\d)(?:[\s-]|$)"));

/// Failure phrases that tell hard from soft when no code is given.
pub(super) static HARD_PHRASES: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"user unknown|unknown user|no such (user|recipient|mailbox)|does not exist|doesn't exist|address not found|recipient not found|invalid (recipient|address|mailbox)|mailbox unavailable|account (has been )?(disabled|deactivated|closed)|permanent(ly)? (error|failure|fatal)|this is a permanent error|address rejected|unrouteable|no mailbox here",
    )
});
pub(super) static SOFT_PHRASES: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"mailbox (is )?full|over quota|quota exceeded|temporar(y|ily)|will (continue to )?(retry|try)|delayed|has not yet been delivered|not yet been delivered|could not send message for past|still trying|try again later",
    )
});

// ---------------------------------------------------------------------------
// Kind: auto-replies
// ---------------------------------------------------------------------------

/// An auto-reply needs this much combined evidence.
pub(super) const AUTO_THRESHOLD: f64 = 0.75;

/// Header evidence, by header (lower case) and value; `None` matches any value.
/// Auto-Submitted other than `no` is decisive (RFC 3834).
pub(super) const AUTO_HEADERS: &[(&str, Option<&[&str]>, f64)] = &[
    ("x-autoreply", None, 0.9),
    ("x-autorespond", None, 0.9),
    ("x-auto-reply", None, 0.9),
    ("x-mail-autoreply", None, 0.9),
    ("x-autoreply-from", None, 0.85),
    ("x-vacation", None, 0.85),
    ("x-autogenerated", Some(&["reply", "forward", "group", "mirror"]), 0.9),
    ("precedence", Some(&["auto_reply", "auto-reply"]), 0.9),
    ("precedence", Some(&["bulk", "junk", "list"]), 0.5),
    // Exchange sets it on its own automatic messages (OOF, receipts), but some
    // clients set it on ordinary mail too, so it only adds evidence.
    ("x-auto-response-suppress", Some(&["all", "oof", "autoreply"]), 0.55),
    ("x-auto-response-suppress", None, 0.3),
    ("x-ms-exchange-generated-message-source", None, 0.5),
];
pub(super) const AUTO_SUBMITTED: f64 = 0.97;

/// Subjects of automatic replies. `ooo.*` ones say the person is away.
pub(super) static AUTO_SUBJECT: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::new(
        const {
            &[
                rule(
                    "subject.ooo.en",
                    0.7,
                    r"out of (the )?office|\booo\b|\baway from (the )?office|\bon (annual |parental |maternity |paternity )?(leave|vacation|holiday)|\bvacation\b|\bannual leave\b",
                ),
                rule(
                    "subject.ooo.de",
                    0.7,
                    r"abwesenheit|nicht im büro|außer haus|\burlaub\b|\babwesend\b",
                ),
                rule(
                    "subject.ooo.fr",
                    0.7,
                    r"\babsence\b|\babsente?\b|hors du bureau|\ben congés?\b|message d'absence",
                ),
                rule(
                    "subject.ooo.es",
                    0.7,
                    r"fuera de (la )?oficina|\bausente\b|de vacaciones",
                ),
                rule("subject.ooo.it", 0.7, r"fuori (ufficio|sede)|\bin ferie\b|\bassente\b"),
                rule(
                    "subject.ooo.nl",
                    0.7,
                    r"\bafwezig|niet aanwezig|buiten kantoor|met vakantie",
                ),
                rule("subject.ooo.pt", 0.7, r"fora do escritório|de férias|\bausente\b"),
                rule(
                    "subject.auto.en",
                    0.7,
                    r"automatic reply|auto(matic)?[- ]?(reply|response)|\bautoreply\b|\bauto:|automated (reply|response)",
                ),
                rule("subject.auto.de", 0.7, r"automatische antwort|autom\. antwort"),
                rule("subject.auto.fr", 0.7, r"réponse automatique"),
                rule("subject.auto.es", 0.7, r"respuesta automática"),
                rule("subject.auto.it", 0.7, r"risposta automatica"),
                rule("subject.auto.nl", 0.7, r"automatisch antwoord"),
                rule("subject.auto.pt", 0.7, r"resposta automática"),
            ]
        },
    )
});

/// Body sentences only machines write. Weighted for the kind decision.
pub(super) static AUTO_BODY: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::new(
        const {
            &[
                rule(
                    "body.auto.en",
                    0.7,
                    r"this is an? (automatic|automated|auto-generated|automatically generated) (reply|response|message|e-?mail|notification)|(this|your) (message|e-?mail) (has been|was) (received|forwarded) automatically|do not reply to this (e-?mail|message)|(we have|we've) received your (e-?mail|message|request|enquiry|inquiry)|ticket (number|#|id)",
                ),
                rule(
                    "body.auto.de",
                    0.7,
                    r"(dies ist|diese (nachricht|e-mail) ist) (eine )?automatisch|automatisch (erstellte|generierte) (nachricht|antwort|e-mail)|automatische antwort",
                ),
                rule(
                    "body.auto.fr",
                    0.7,
                    r"(ceci est|il s'agit d') ?une réponse automatique|message (généré )?automatique|réponse automatique",
                ),
                rule(
                    "body.auto.es",
                    0.7,
                    r"(esta es|este es) (una|un) (respuesta|mensaje) automátic|mensaje generado automáticamente|respuesta automática",
                ),
                rule(
                    "body.auto.it",
                    0.7,
                    r"questa è una risposta automatica|messaggio (generato )?automatic|risposta automatica",
                ),
                rule(
                    "body.auto.nl",
                    0.7,
                    r"dit is een automatisch|automatisch (antwoord|bericht|gegenereerd)",
                ),
                rule(
                    "body.auto.pt",
                    0.7,
                    r"esta é uma (resposta|mensagem) automática|mensagem automática|resposta automática",
                ),
            ]
        },
    )
});

/// Weight for the kind decision of an out-of-office sentence in the body:
/// people write them too, so alone it does not make an auto-reply.
pub(super) const AUTO_BODY_OOO: f64 = 0.45;

// ---------------------------------------------------------------------------
// Classes
// ---------------------------------------------------------------------------

/// A class rule: evidence for one class.
pub(super) struct ClassRule {
    pub class: ReplyClass,
    pub rule: Rule,
}

const fn class_rule(class: ReplyClass, id: &'static str, weight: f64, pattern: &'static str) -> ClassRule {
    ClassRule {
        class,
        rule: Rule { id, weight, pattern },
    }
}

/// A class is considered when its combined weight reaches this.
pub(super) const CLASS_THRESHOLD: f64 = 0.4;
/// Precedence decides only among classes within this much of the strongest:
/// a stray "call" (0.4) must not beat an explicit request for pricing (0.9).
pub(super) const PRECEDENCE_MARGIN: f64 = 0.3;
/// Confidence lost per other class that also reached the threshold.
pub(super) const COMPETITION_PENALTY: f64 = 0.12;
/// Confidence of `unclassified` when no class reached the threshold.
pub(super) const UNCLASSIFIED_CONFIDENCE: f64 = 0.3;

/// When several classes reach the threshold, the first in this order wins:
/// an opt-out must never be missed, a redirect or a no beats a stray positive
/// word, and the most actionable positive beats plain interest. Out of office
/// comes last for human replies: "away until Monday, let's talk then" is a
/// meeting request.
pub(super) const PRECEDENCE: [ReplyClass; 7] = [
    ReplyClass::DoNotContact,
    ReplyClass::WrongPerson,
    ReplyClass::NotInterested,
    ReplyClass::MeetingRequest,
    ReplyClass::InformationRequest,
    ReplyClass::Interested,
    ReplyClass::OutOfOffice,
];

use ReplyClass::{
    DoNotContact as Dnc, InformationRequest as Info, Interested as Yes, MeetingRequest as Meet, NotInterested as No,
    OutOfOffice as Ooo, WrongPerson as Wrong,
};

/// Rule ids starting with this say the person left the organisation: the only
/// wrong-person evidence an automatic reply can give.
pub(super) const DEPARTED_PREFIX: &str = "wrong_person.left";

static CLASS_RULES: &[ClassRule] = &[
    // --- do not contact -----------------------------------------------------
    class_rule(
        Dnc,
        "do_not_contact.en",
        0.9,
        r"\bunsubscribe\b|remove (me|us|my (e-?mail|address|name|details))\b|take (me|us|my (e-?mail|address|name)) off|stop (e-?mailing|emailing|contacting|sending|writing|spamming)|(do not|don't|dont|never) (contact|e-?mail|write to|call|message|reach out to) (me|us)|(leave|let) (me|us) alone|report(ed|ing)? (you|this) (as|for) spam|no (more|further) (e-?mails|emails|messages|contact)",
    ),
    class_rule(
        Dnc,
        "do_not_contact.en.opt_out",
        0.7,
        r"\bopt(ed|ing)?[- ]?out\b|(delete|erase) (my|our) (data|details|information|contact)",
    ),
    class_rule(
        Dnc,
        "do_not_contact.en.spam",
        0.45,
        r"\bspam\b|\bgdpr\b|\bdsgvo\b|\brgpd\b",
    ),
    class_rule(
        Dnc,
        "do_not_contact.de",
        0.9,
        r"(streichen|entfernen|löschen) sie (mich|uns|meine (daten|adresse|e-mail))|(aus|von) (ihrem|ihrer|dem|der) (verteiler|liste|mailingliste|datenbank)|\babmelden\b|\baustragen\b|abbestellen|keine (weiteren )?(e-?mails|nachrichten|werbung)|kontaktieren sie (mich|uns) nicht|nicht mehr (kontaktieren|anschreiben|anrufen)",
    ),
    class_rule(
        Dnc,
        "do_not_contact.fr",
        0.9,
        r"désabonn|désinscri|desinscri|ne (plus )?me contactez (plus|pas)|ne plus me contacter|ne plus nous contacter|retirez[- ](moi|nous)|supprimez[- ](moi|mes|mon adresse)|(plus|pas) de (mails|e-mails|courriels|messages)",
    ),
    class_rule(
        Dnc,
        "do_not_contact.es",
        0.9,
        r"(dar|darme|darnos|den) de baja|no (me|nos) (contacte|contacten|escriba|escriban|vuelva|vuelvan)|(eliminen|borren|quiten|elimine|borre|quite)( mi| me| mis| nuestros)|no (quiero|deseo|queremos) recibir",
    ),
    class_rule(
        Dnc,
        "do_not_contact.it",
        0.9,
        r"cancellatemi|cancellami|rimuovetemi|rimuovimi|cancellare (il mio|la mia|i miei)|non (mi|ci) (contatti|contattate|contattare|scriva|scrivete)|disiscri|non (voglio|desidero|vogliamo) (più )?ricevere",
    ),
    class_rule(
        Dnc,
        "do_not_contact.nl",
        0.9,
        r"\bafmelden\b|uitschrijven|(verwijder|haal) (mij|me|ons|mijn)|(geen|niet meer) (e-?mails|mails|berichten)|neem geen contact|niet meer (benaderen|mailen|contacteren)",
    ),
    class_rule(
        Dnc,
        "do_not_contact.pt",
        0.9,
        r"descadastr|cancelar (a )?(minha )?inscrição|(remov|retir)(a|am|er|ar|am) (o )?meu( e-?mail| contato| endereço)|(não|nao) (me |nos )?(contate|contatem|contactem|contacte|envie|enviem|entre em contato)|(não|nao) (quero|desejo|queremos) (mais )?receber",
    ),
    // --- wrong person ---------------------------------------------------------
    class_rule(
        Wrong,
        "wrong_person.left.en",
        0.9,
        r"no longer (work(s|ing)?|with|at|employed|part of)|(has|have|had) (left|moved on from) (the company|us|our company|the organi[sz]ation|the business|[a-z]+ (inc|ltd|gmbh|sa|bv))|\bleft the company\b|is no longer (with|at|employed)",
    ),
    class_rule(
        Wrong,
        "wrong_person.en",
        0.9,
        r"(not|wrong) the (right|correct|best|appropriate|relevant) (person|contact|people)|(i'm|i am) not (the right|responsible|in charge|the person)|(not|isn't|is not) my (area|department|responsibility|remit)",
    ),
    class_rule(
        Wrong,
        "wrong_person.en.redirect",
        0.75,
        r"(contact|reach out to|speak (to|with)|talk to|get in touch with|e-?mail|write to) (my|our) (colleague|coworker|co-worker|team|head|manager|department|ceo|cto|cfo|coo|director|boss|partner)|(the right|the best|a better|the correct) (person|contact) (is|would be|to (talk|speak) (to|with))|(handles|is responsible for|looks after|takes care of|is in charge of|owns) (this|that|these|our|all)",
    ),
    class_rule(
        Wrong,
        "wrong_person.en.forwarded",
        0.6,
        r"\b(cc'?d|cc'?ing|copying in|copied in|looping in|loop in|forward(ed|ing)? (this|it|your (e-?mail|message|note))( one| email| message| note)? (on |over |along )?to|pass(ed|ing)? (this|it|your (e-?mail|message|note))( one)? (on|along|over) to)\b",
    ),
    class_rule(
        Wrong,
        "wrong_person.left.de",
        0.9,
        r"(nicht mehr|arbeitet nicht mehr) (im|bei|für|in)|hat das unternehmen verlassen|(ist|bin) (nicht mehr|nicht länger) (bei|im|für)|nicht mehr im unternehmen",
    ),
    class_rule(
        Wrong,
        "wrong_person.de",
        0.9,
        r"nicht (der|die) (richtige|zuständige) (ansprechpartner(in)?|person|kontakt)|nicht (mehr )?zuständig|(zuständig ist|zuständig sind|ansprechpartner(in)? (ist|für))|(wenden sie sich|bitte kontaktieren sie|melden sie sich) (an|bei)|(habe|leite) .{0,40}weiter(geleitet)?",
    ),
    class_rule(
        Wrong,
        "wrong_person.left.fr",
        0.9,
        r"ne (travaille|fait) plus (chez|partie|pour)|a quitté (l'entreprise|la société|le groupe)|n'est plus (chez|dans|en poste)",
    ),
    class_rule(
        Wrong,
        "wrong_person.fr",
        0.85,
        r"(pas|plus) (la bonne|le bon) (personne|interlocuteur|interlocutrice|contact)|(contactez|adressez-vous à|veuillez contacter|merci de contacter|je vous invite à contacter) (mon|ma|notre)|(mon|ma) (collègue|collaborat(eur|rice)) .{0,40}(en charge|s'occupe|responsable)|(transmis|transféré) (votre (message|mail|e-mail)|à)",
    ),
    class_rule(
        Wrong,
        "wrong_person.left.es",
        0.9,
        r"ya no (trabaja|forma parte|está en|pertenece)|dejó la empresa|ha dejado la empresa",
    ),
    class_rule(
        Wrong,
        "wrong_person.es",
        0.85,
        r"no soy la persona (adecuada|indicada|correcta)|(contacte|contacta|escriba|hable) (a|con) (mi|nuestro|nuestra)|(mi|nuestro|nuestra) (compañer[oa]|colega) .{0,40}(encarga|responsable)|(he reenviado|reenvío|reenviado) (su|tu) (correo|mensaje|email)",
    ),
    class_rule(
        Wrong,
        "wrong_person.left.it",
        0.9,
        r"non (lavora|fa) più (qui|per|presso|parte|con)|ha lasciato (l'azienda|la società)",
    ),
    class_rule(
        Wrong,
        "wrong_person.it",
        0.85,
        r"non sono la persona (giusta|corretta|adatta|di riferimento)|(contatti|contattate|scriva a|rivolgersi a|si rivolga a) (il mio|la mia|il nostro|la nostra)|(collega|responsabile) .{0,40}(si occupa|di riferimento)|(ho inoltrato|inoltro) (la sua|la tua|il suo|il tuo) (mail|email|messaggio)",
    ),
    class_rule(
        Wrong,
        "wrong_person.left.nl",
        0.9,
        r"(werkt|ben|is) niet meer (bij|voor|werkzaam)|heeft het bedrijf verlaten|is uit dienst|niet langer (werkzaam|in dienst)",
    ),
    class_rule(
        Wrong,
        "wrong_person.nl",
        0.85,
        r"niet de (juiste|aangewezen) persoon|(neem contact op met|kunt u contact opnemen met|wend u tot) (mijn|onze)|(mijn|onze) collega .{0,40}(gaat over|verantwoordelijk)|doorgestuurd (naar|aan)",
    ),
    class_rule(
        Wrong,
        "wrong_person.left.pt",
        0.9,
        r"(não|nao) trabalha mais|deixou a empresa|já não (faz parte|trabalha)",
    ),
    class_rule(
        Wrong,
        "wrong_person.pt",
        0.85,
        r"(não|nao) sou a pessoa (certa|indicada|correta|responsável)|(entre em contato com|fale com|contate|contacte) (o meu|a minha|meu|minha|o nosso|a nossa|nosso|nossa)|(colega|responsável) .{0,40}(cuida|responsável)|encaminh(ei|ado|o) (o seu|seu|sua|a sua) (e-?mail|mensagem)",
    ),
    // --- not interested -------------------------------------------------------
    class_rule(
        No,
        "not_interested.en",
        0.9,
        r"not interested|no interest|(is|are|'re|was) not (a (good )?fit|relevant|for us|a priority|looking|in the market)|(isn't|aren't|wasn't) (a (good )?fit|relevant|for us|a priority|something we need)|not (right|a fit) for (us|me)|\bno,? thank(s| you)\b|we'?re (all set|good for now|covered)|(we are|i am|i'm) (all set|happy with (our|my|the) (current|existing))|\bnope\b|no budget|(have|has) no (need|budget)|(don't|do not) (need|want) (this|it|your|any)",
    ),
    class_rule(
        No,
        "not_interested.en.have_one",
        0.55,
        r"already (have|use|using|work with|working with|signed)|not (at this time|right now|now)\b|\bdecline\b|maybe (next year|later)",
    ),
    class_rule(
        No,
        "not_interested.de",
        0.9,
        r"kein(en)? (interesse|bedarf)|nicht interessiert|(brauchen|benötigen) (wir|ich) nicht|nein,? danke|kein thema für (uns|mich)",
    ),
    class_rule(
        No,
        "not_interested.de.have_one",
        0.55,
        r"(haben|nutzen|verwenden) (bereits|schon)|derzeit nicht|aktuell nicht",
    ),
    class_rule(
        No,
        "not_interested.fr",
        0.9,
        r"pas intéressée?s?|(ne|n')\s?(nous|me) intéresse pas|pas (de|d') (besoin|intérêt)|non merci|pas pour (nous|moi)",
    ),
    class_rule(
        No,
        "not_interested.fr.have_one",
        0.55,
        r"(avons|ai) déjà|pas pour le moment|pas en ce moment",
    ),
    class_rule(
        No,
        "not_interested.es",
        0.9,
        r"no (estamos|estoy) interesad[oa]s?|no (me|nos) interesa|no,? gracias|no (necesitamos|necesito)",
    ),
    class_rule(
        No,
        "not_interested.es.have_one",
        0.55,
        r"ya (tenemos|contamos con|trabajamos con)|por ahora no|de momento no",
    ),
    class_rule(
        No,
        "not_interested.it",
        0.9,
        r"non (siamo|sono) interessat[oiae]|non (mi|ci) interessa|no,? grazie|non (ci|mi) serve",
    ),
    class_rule(
        No,
        "not_interested.it.have_one",
        0.55,
        r"(abbiamo|ho) già|per ora no|al momento no",
    ),
    class_rule(
        No,
        "not_interested.nl",
        0.9,
        r"geen interesse|niet geïnteresseerd|nee,? (bedankt|dank (je|u))|geen behoefte",
    ),
    class_rule(
        No,
        "not_interested.nl.have_one",
        0.55,
        r"(hebben|gebruiken) (al|reeds)|op dit moment niet|momenteel niet",
    ),
    class_rule(
        No,
        "not_interested.pt",
        0.9,
        r"(não|nao) (temos|tenho) interesse|(não|nao) (estamos|estou) interessad[oa]s?|(não|nao),? obrigad[oa]|sem interesse",
    ),
    class_rule(
        No,
        "not_interested.pt.have_one",
        0.55,
        r"já (temos|utilizamos|usamos|trabalhamos com)|no momento não|por enquanto não",
    ),
    // --- meeting request ------------------------------------------------------
    class_rule(
        Meet,
        "meeting_request.en",
        0.9,
        r"(schedule|set up|book|arrange|find|grab|put) (a|some|15|20|30|half an hour) ?(min(ute)?s? )?(call|time|meeting|slot|demo|chat)|(let's|lets|let us|can we|could we|shall we|happy to|glad to|open to|keen to) (talk|chat|meet|connect|speak|jump on|hop on|set up|schedule|book|have a (call|chat))|(how about|let's do|lets do|let's say) (monday|tuesday|wednesday|thursday|friday|next week|tomorrow)|(does|would|could) (monday|tuesday|wednesday|thursday|friday|tomorrow|next week)\b.{0,30}\bwork|send (me |us )?(an? )?(calendar )?(invite|invitation)|calendly|my calendar|(i'm|i am|we're|we are) (free|available) (on|at|next|this|tomorrow|monday|tuesday|wednesday|thursday|friday)",
    ),
    class_rule(
        Meet,
        "meeting_request.call_me",
        0.85,
        r"\b(call|ring|phone) me\b|give me a (call|ring)|rufen sie mich .{0,20}an|ruf mich .{0,20}an|appelez-moi|m'appeler|llámame|llámeme|llamarme|chiamami|mi chiami|chiamarmi|bel me|mij bellen|ligar-me|ligue-me|me ligar|me liga\b",
    ),
    class_rule(
        Meet,
        "meeting_request.en.word",
        0.4,
        r"\b(call|meeting|demo|zoom|teams call|google meet|catch[- ]up)\b",
    ),
    class_rule(
        Meet,
        "meeting_request.time",
        0.35,
        r"\b\d{1,2}(:\d{2})? ?(am|pm|uhr|h\b)|\b\d{1,2}h\d{2}\b|\b\d{1,2}:\d{2}\b",
    ),
    class_rule(
        Meet,
        "meeting_request.de",
        0.9,
        r"(lassen sie uns|können wir|sollen wir|wollen wir|gerne) .{0,30}(telefonieren|sprechen|treffen|austauschen|termin)|termin (vereinbaren|ausmachen|finden|vorschlagen)|(montag|dienstag|mittwoch|donnerstag|freitag) .{0,25}(uhr|passt|geht)|schicken sie (mir )?(eine )?einladung",
    ),
    class_rule(
        Meet,
        "meeting_request.de.word",
        0.4,
        r"\b(termin|telefonat|gespräch|videocall|kennenlernen)\b",
    ),
    class_rule(
        Meet,
        "meeting_request.fr",
        0.9,
        r"(pouvons-nous|on peut|pourrions-nous|peut-on|on pourrait) .{0,25}(parler|échanger|appeler|caler|rencontrer)|(caler|planifier|fixer|organiser|prévoir) (un|une) (appel|rendez-vous|réunion|créneau|échange|call|visio)|(lundi|mardi|mercredi|jeudi|vendredi) .{0,25}(\d{1,2} ?h|à \d)|(je suis|suis) disponible",
    ),
    class_rule(
        Meet,
        "meeting_request.fr.word",
        0.4,
        r"\b(appel|rendez-vous|réunion|visio|créneau)\b",
    ),
    class_rule(
        Meet,
        "meeting_request.es",
        0.9,
        r"(podemos|podríamos|quisiera|me gustaría) (hablar|reunirnos|tener una (llamada|reunión)|agendar|coordinar)|(agendar|programar|coordinar|organizar) (una )?(llamada|reunión|videollamada)|(lunes|martes|miércoles|jueves|viernes) .{0,25}(a las|\d)|(estoy|estaré) disponible",
    ),
    class_rule(
        Meet,
        "meeting_request.es.word",
        0.4,
        r"\b(llamada|reunión|videollamada)\b",
    ),
    class_rule(
        Meet,
        "meeting_request.it",
        0.9,
        r"(possiamo|potremmo|vorrei) (sentirci|parlarne|fissare|organizzare|fare una (call|chiamata))|(fissare|organizzare|programmare) (una )?(chiamata|call|riunione|incontro)|(lunedì|martedì|mercoledì|giovedì|venerdì) .{0,25}(alle|\d)|sono disponibile",
    ),
    class_rule(
        Meet,
        "meeting_request.it.word",
        0.4,
        r"\b(chiamata|riunione|incontro|sentirci)\b",
    ),
    class_rule(
        Meet,
        "meeting_request.nl",
        0.9,
        r"(kunnen we|zullen we|laten we) .{0,25}(bellen|afspreken|spreken|inplannen|afspraak)|(afspraak|call|gesprek|belafspraak) (inplannen|maken|plannen)|(maandag|dinsdag|woensdag|donderdag|vrijdag) .{0,25}(om|\d)|(ik ben|ben) beschikbaar",
    ),
    class_rule(
        Meet,
        "meeting_request.nl.word",
        0.4,
        r"\b(afspraak|gesprek|belletje|kennismaking)\b",
    ),
    class_rule(
        Meet,
        "meeting_request.pt",
        0.9,
        r"(podemos|poderíamos|gostaria de) (conversar|falar|marcar|agendar|nos reunir)|(marcar|agendar) (uma )?(reunião|ligação|call|chamada|conversa)|(segunda|terça|quarta|quinta|sexta)(-feira)? .{0,25}(às|\d)|(estou|estarei) disponível",
    ),
    class_rule(Meet, "meeting_request.pt.word", 0.4, r"\b(ligação|reunião|chamada)\b"),
    // --- information request --------------------------------------------------
    class_rule(
        Info,
        "information_request.en",
        0.85,
        r"(send|share|forward|email) (me|us|over) (some |more |a few |the )?(info|information|details|a deck|the deck|deck|a brochure|brochure|case stud|pricing|prices|examples|a one-pager|materials)|(more|additional|further) (info|information|details)|how much (does|do|is|would)|what (does it|do you|would it) (cost|charge)|can you (tell|explain|share|send|clarify)|could you (tell|explain|share|send|clarify)|do you (have|offer|support|work with|integrate)|how (it|this|that) (works|would work)|how does (it|this|that) work|what (would|does|will) .{1,40} look like",
    ),
    class_rule(
        Info,
        "information_request.en.pricing",
        0.6,
        r"\b(pricing|price|prices|cost|costs|quote|rates)\b",
    ),
    class_rule(Info, "information_request.question", 0.3, r"\?"),
    class_rule(
        Info,
        "information_request.de",
        0.85,
        r"(mehr|weitere|nähere) (informationen|infos|details|unterlagen)|(schicken|senden) sie (mir|uns)|(wie|was) (funktioniert|kostet)|was kostet",
    ),
    class_rule(
        Info,
        "information_request.de.pricing",
        0.6,
        r"\b(preis|preise|kosten|angebot|konditionen)\b",
    ),
    class_rule(
        Info,
        "information_request.fr",
        0.85,
        r"plus d'informations|davantage d'informations|plus de (détails|précisions)|(envoyez|envoyer|transmettre|faire parvenir)[- ](moi|nous)|combien (coûte|ça coûte|cela coûte)",
    ),
    class_rule(
        Info,
        "information_request.fr.pricing",
        0.6,
        r"\b(prix|tarifs?|coûts?|devis)\b",
    ),
    class_rule(
        Info,
        "information_request.es",
        0.85,
        r"más (información|detalles|info)|cuánto cuesta|(envíe|envíen|enviar|mándame|mande|envíame)(me|nos)? (información|detalles|más)",
    ),
    class_rule(
        Info,
        "information_request.es.pricing",
        0.6,
        r"\b(precio|precios|costo|coste|tarifas?|cotización|presupuesto)\b",
    ),
    class_rule(
        Info,
        "information_request.it",
        0.85,
        r"(maggiori|più) (informazioni|dettagli)|quanto costa|(inviarmi|mandarmi|inviarci|mandarci|inviatemi|mandatemi)",
    ),
    class_rule(
        Info,
        "information_request.it.pricing",
        0.6,
        r"\b(prezzo|prezzi|costo|costi|preventivo|listino)\b",
    ),
    class_rule(
        Info,
        "information_request.nl",
        0.85,
        r"meer (informatie|info|details)|wat kost|(stuur|stuurt|sturen) .{0,20}(informatie|info|details|brochure)",
    ),
    class_rule(
        Info,
        "information_request.nl.pricing",
        0.6,
        r"\b(prijs|prijzen|kosten|offerte|tarief|tarieven)\b",
    ),
    class_rule(
        Info,
        "information_request.pt",
        0.85,
        r"mais (informações|detalhes|info)|quanto custa|(enviar|envie|enviem|mandar|mande)(-me|-nos)? (mais )?(informações|detalhes|material)",
    ),
    class_rule(
        Info,
        "information_request.pt.pricing",
        0.6,
        r"\b(preço|preços|custo|custos|orçamento|valores)\b",
    ),
    // --- interested -----------------------------------------------------------
    class_rule(
        Yes,
        "interested.en",
        0.75,
        r"\binterested\b|\binteresting\b|(sounds|looks) (good|great|interesting|promising|useful|relevant)|(i'd|i would|we'd|we would) (like|love) to (learn|hear|know|see) more|tell me more|\bkeen\b|could be (useful|interesting|relevant|a fit)|worth (a (look|chat|conversation)|exploring)|\byes,? please\b|\bcount (me|us) in\b",
    ),
    class_rule(
        Yes,
        "interested.de",
        0.75,
        r"interessiert|interessant|(klingt|hört sich) .{0,10}(gut|interessant|spannend)|gerne mehr (erfahren|wissen)|\bja,? gerne\b",
    ),
    class_rule(
        Yes,
        "interested.fr",
        0.75,
        r"intéress|en savoir plus|\bavec plaisir\b|\bvolontiers\b|ça (a l'air|semble) (intéressant|bien)",
    ),
    class_rule(
        Yes,
        "interested.es",
        0.75,
        r"(me|nos) interesa|interesad[oa]|interesante|suena (bien|interesante)|saber más|\bsí,? claro\b",
    ),
    class_rule(
        Yes,
        "interested.it",
        0.75,
        r"(mi|ci) interessa|interessat[oa]|interessante|sembra (interessante|utile)|saperne di più|\bvolentieri\b",
    ),
    class_rule(
        Yes,
        "interested.nl",
        0.75,
        r"geïnteresseerd|interessant|klinkt (goed|interessant)|graag meer (weten|horen)|\bja,? graag\b",
    ),
    class_rule(
        Yes,
        "interested.pt",
        0.75,
        r"(tenho|temos) interesse|interessad[oa]|interessante|parece (bom|interessante)|saber mais|\bcom certeza\b",
    ),
    // --- out of office (a person writing it, or the body of an auto-reply) -----
    class_rule(
        Ooo,
        "out_of_office.en",
        0.8,
        r"(i am|i'm|i will be|i'll be|i shall be)( currently)? (out of (the )?office|away|on (annual |parental |maternity |paternity |sick |medical )?(leave|vacation|holiday)|travell?ing|out until|off until|off work)|out of (the )?office (until|till|through|from|on)|limited (access to|availability on) (my )?e-?mail|(when|upon|after) (i|my) return|(back|returning) (in the office |to the office )?(on|from)\b|\bon (annual |parental |maternity )?leave\b",
    ),
    class_rule(
        Ooo,
        "out_of_office.de",
        0.8,
        r"nicht im büro|(bin|ist) .{0,40}(abwesend|im urlaub|nicht erreichbar|außer haus|in elternzeit)|wieder (im büro|erreichbar|da|zurück)|zurück am|\bin elternzeit\b|(während|in) meiner abwesenheit|abwesenheit",
    ),
    class_rule(
        Ooo,
        "out_of_office.fr",
        0.8,
        r"je suis (actuellement )?(absente?|en congés?|en vacances|hors du bureau|en déplacement)|de retour (le|au bureau|à partir)|absente? du bureau|je serai de retour|pendant mon absence|en congé",
    ),
    class_rule(
        Ooo,
        "out_of_office.es",
        0.8,
        r"(estoy|estaré) (fuera de la oficina|de vacaciones|ausente|fuera)|de vuelta (el|a partir)|regres(o|aré) el|volveré el|fuera de la oficina|durante mi ausencia",
    ),
    class_rule(
        Ooo,
        "out_of_office.it",
        0.8,
        r"(sono|sarò) (fuori ufficio|in ferie|assente)|rientro (il|in ufficio|previsto)|rientrerò|tornerò|fuori ufficio|durante la mia assenza",
    ),
    class_rule(
        Ooo,
        "out_of_office.nl",
        0.8,
        r"(ben|ik ben) .{0,30}(afwezig|met vakantie|niet aanwezig|buiten kantoor|niet op kantoor)|terug op|weer aanwezig|weer op kantoor|tijdens mijn afwezigheid",
    ),
    class_rule(
        Ooo,
        "out_of_office.pt",
        0.8,
        r"(estou|estarei) (ausente|fora do escritório|de férias|fora)|de volta (em|a partir|no dia)|retorno (em|no dia|dia|a \d)|durante a minha ausência|fora do escritório",
    ),
];

static CLASS_COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| compile_all(CLASS_RULES.iter().map(|r| r.rule.pattern)));

/// Subjects that are themselves an opt-out ("Unsubscribe", "Remove me").
pub(super) static DNC_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*(re:\s*|aw:\s*|sv:\s*)?(unsubscribe|remove( me)?|stop|opt[- ]?out|abmelden|désabonner|desinscription|baja|cancellami|afmelden|descadastrar)\b",
    )
});

/// Where a wrong-person reply names who to ask instead: a capitalised name of
/// one to three words after a redirecting phrase (matched case-sensitively on
/// the name, insensitively on the phrase).
pub(super) static REFERRAL_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i:contact|reach out to|speak (?:to|with)|talk to|get in touch with|e-?mail|write to|colleague|coworker|looping in|forwarded (?:this|it|your (?:e-?mail|message)) to|cc'?d|kollegen?|kollegin|herrn?|frau|wenden sie sich an|contactez|collègue|contacte a|contacta a|hable con|compañer[oa]|colega|contatti|collega|rivolgersi a|contact op met|fale com|entre em contato com)[\s,:]+(?i:(?:my|our|mon|ma|notre|mi|nuestro|nuestra|il mio|la mia|mijn|onze|meu|minha|o meu|a minha|unser(?:e|en)?|meine[nm]?|la|le|el|il|o|a|de|het)\s+)?(?i:(?:colleague|collègue|colega|collega|kollegen?|kollegin|compañer[oa])\s+)?((?:Mr\.?|Ms\.?|Mrs\.?|Dr\.?|Herr|Frau|M\.|Mme|Sr\.?|Sra\.?|Dott\.?|Dhr\.?|Mevr\.?)?\s*\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}[\p{L}'’-]+){0,2})",
    )
    .unwrap_or_else(|e| panic!("referral pattern does not compile: {e}"))
});

/// An email address in running text.
pub(super) static EMAIL_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"));

/// The class rules that match `text`, in table order.
pub(super) fn matching_class_rules(text: &str) -> impl Iterator<Item = &'static ClassRule> {
    let text = text.to_lowercase();
    let matched: Vec<usize> = CLASS_COMPILED
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_match(&text))
        .map(|(i, _)| i)
        .collect();
    matched.into_iter().map(|i| &CLASS_RULES[i])
}

/// The first out-of-office sentence in `text`, for the kind decision.
pub(super) fn first_ooo_rule(text: &str) -> Option<&'static ClassRule> {
    matching_class_rules(text).find(|rule| rule.class == ReplyClass::OutOfOffice)
}

// ---------------------------------------------------------------------------
// Quoted history and signatures
// ---------------------------------------------------------------------------

/// `-----Original Message-----`, Gmail's and Apple Mail's forward headers.
pub(super) static HISTORY_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*(-{2,}|_{2,}|={2,})?\s*(original message|ursprüngliche nachricht|originalnachricht|message d'origine|message original|mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht|mensagem original|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada|mensagem reencaminhada)\s*(-{2,}|_{2,}|={2,})\s*$|^\s*(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|début du message transféré|inicio del mensaje reenviado|comienzo del mensaje reenviado|inizio messaggio inoltrato|begin doorgestuurd bericht|início da mensagem reencaminhada|início da mensagem encaminhada)\s*:\s*$",
    )
});

/// A field line of an Outlook-style header block ("From: …", "Von: …", "*De :* …").
pub(super) static HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*\*?\s*(from|sent|to|cc|subject|date|von|gesendet|an|betreff|datum|de|envoyé|à|a|objet|enviado el|enviado|enviada|para|asunto|fecha|da|inviato|oggetto|data|van|verzonden|aan|onderwerp|assunto)\s*\*?\s*:",
    )
});

/// The first field of such a block names the sender.
pub(super) static HEADER_FROM: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*\*?\s*(from|von|de|da|van)\s*\*?\s*:\s*\S"));

/// "On … wrote:" and its translations, on one line (or two or three joined).
pub(super) static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^[\s-]*.{0,300}\b(wrote|writes|schrieb|geschrieben|a écrit|escribió|ha escrito|ha scritto|scrisse|schreef|geschreven|escreveu)(?:[^\p{L}]|$)[^:\n]{0,120}:?[\s-]*$",
    )
});

/// How attribution lines begin in the seven languages; a line that begins so
/// may be joined with the next one or two when the client wrapped it.
pub(super) static ATTRIBUTION_START: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*(on|at|am|le|el|il|il giorno|op|em|no dia|às|a las)\b"));

/// Phone and client taglines that end what the person typed.
pub(super) static DEVICE_SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*(sent from my \S.{0,40}|sent from (outlook|mail|yahoo mail|gmail|proton ?mail)\b.{0,40}|sent via .{1,40}|sent with .{1,40}|get outlook for (ios|android).{0,10}|von meinem \S.{0,30} gesendet|gesendet von (meinem )?\S.{0,30}|outlook für (ios|android) (herunterladen|beziehen)|envoyé (de|depuis) mon \S.{0,30}|télécharger outlook pour (ios|android)|obtenir outlook pour (ios|android)|enviado desde mi \S.{0,30}|obtener outlook para (ios|android)|inviato da (iphone|ipad|il mio \S.{0,30}|outlook.{0,20}|samsung.{0,20})|scarica outlook per (ios|android)|verzonden (vanaf|met|van) (mijn )?\S.{0,30}|outlook voor (ios|android) downloaden|enviado (do|de) (meu|minha) \S.{0,30}|obter o outlook para (ios|android)|baixe o outlook para (ios|android))(\s*<https?://[^>\s]*>)?\s*$",
    )
});

/// Corporate notices at the end of a message.
pub(super) static DISCLAIMER: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*(disclaimer|confidentiality notice|this (e-?mail|message|communication)( and any (attachments|files)( transmitted with it)?)? (is|are|may be|contains?) (confidential|privileged|intended)|the information (contained )?in this (e-?mail|message)|diese (e-mail|nachricht) (enthält|ist) vertraulich|ce (message|courriel|e-mail) (et (toutes )?les pièces jointes )?(est|sont) confidentiel|este (mensaje|correo) (y sus anexos )?(es|son|contiene) confidencial|questo messaggio (e i suoi allegati )?(è|sono|contiene) (riservat|confidenzial)|dit (bericht|e-mailbericht) (is|kan) vertrouwelijk|esta mensagem (é|pode conter) (confidencial|informação))",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    /// `\b` is compiled as an ASCII boundary ([`ascii_boundaries`]): next to a
    /// non-ASCII letter it would never match. Checks every pattern for a
    /// non-ASCII character beside `\b`, directly or as the first or last
    /// character of an alternative in a group that `\b` touches.
    fn boundary_problems(pattern: &str) -> Vec<String> {
        let chars: Vec<char> = pattern.chars().collect();
        let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
        let at_boundary = |i: usize| i + 1 < chars.len() && chars[i] == '\\' && chars[i + 1] == 'b';
        let mut problems = Vec::new();
        let mut stack = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    if at_boundary(i)
                        && (i > 0 && !chars[i - 1].is_ascii() || chars.get(i + 2).is_some_and(|c| !c.is_ascii()))
                    {
                        problems.push(text(i.saturating_sub(8), (i + 10).min(chars.len())));
                    }
                    i += 2;
                    continue;
                }
                '(' => stack.push(i),
                ')' => {
                    let Some(open) = stack.pop() else { break };
                    let body = text(open + 1, i);
                    let body = body.strip_prefix("?:").unwrap_or(&body);
                    let after = i + 1 + usize::from(chars.get(i + 1) == Some(&'?'));
                    let before = open >= 2 && at_boundary(open - 2);
                    let mut depth = 0;
                    let mut members = vec![String::new()];
                    for c in body.chars() {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            '|' if depth == 0 => {
                                members.push(String::new());
                                continue;
                            }
                            _ => {}
                        }
                        if let Some(member) = members.last_mut() {
                            member.push(c);
                        }
                    }
                    for member in members {
                        let ends = at_boundary(after) && member.chars().last().is_some_and(|c| !c.is_ascii());
                        let starts = before && member.chars().next().is_some_and(|c| !c.is_ascii());
                        if ends || starts {
                            problems.push(member);
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        problems
    }

    #[test]
    fn no_non_ascii_letter_touches_a_word_boundary() {
        let tables = [
            &*BOUNCE_FROM,
            &*BOUNCE_SUBJECT,
            &*BOUNCE_BODY,
            &*AUTO_SUBJECT,
            &*AUTO_BODY,
        ];
        let mut patterns: Vec<String> = tables
            .iter()
            .flat_map(|t| t.rules.iter().map(|r| r.pattern.to_owned()))
            .collect();
        patterns.extend(CLASS_RULES.iter().map(|r| r.rule.pattern.to_owned()));
        for regex in [
            &*RETURNED_COPY,
            &*HARD_PHRASES,
            &*SOFT_PHRASES,
            &*DNC_SUBJECT,
            &*HISTORY_MARKER,
            &*HEADER_FIELD,
            &*HEADER_FROM,
            &*ATTRIBUTION,
            &*ATTRIBUTION_START,
            &*DEVICE_SIGNATURE,
            &*DISCLAIMER,
        ] {
            patterns.push(regex.as_str().replace(r"(?-u:\b)", r"\b"));
        }
        patterns.extend(super::super::dates::pattern_sources());
        let problems: Vec<(String, Vec<String>)> = patterns
            .into_iter()
            .map(|p| (boundary_problems(&p), p))
            .filter(|(b, _)| !b.is_empty())
            .map(|(b, p)| (p, b))
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_check_finds_what_it_looks_for() {
        assert_eq!(boundary_problems(r"\b(wrote|escribió)\b"), vec!["escribió"]);
        assert_eq!(boundary_problems(r"\b(à partir|back)"), vec!["à partir"]);
        assert_eq!(boundary_problems(r"congé\b"), vec!["congé\\b"]);
        assert!(boundary_problems(r"\b(wrote|escribió)(?:[^\p{L}]|$)").is_empty());
    }
}
