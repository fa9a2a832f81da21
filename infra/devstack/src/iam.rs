//! What template.yaml lets each function do, enforced on the local stack.
//!
//! The emulator does not check IAM, so a call that a function's policy does
//! not allow would pass every local test and be denied only on AWS. Each
//! function's SDK clients therefore carry a [`PolicyCheck`] that refuses such
//! a call before it is sent, as IAM would, naming the function and the action.
//! Only actions are checked, not resources.

use crate::{DevstackError, Template};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;
use std::sync::Arc;

/// The actions a function's execution role allows (`service:Action`, `*` as a wildcard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPolicy {
    pub function: String,
    allowed: Vec<String>,
}

/// The actions of the SAM policy templates template.yaml uses (from SAM's
/// policy_templates.json). A template not listed here is an error, so a new
/// one is added deliberately.
fn sam_policy_template(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "SQSSendMessagePolicy" => &["sqs:SendMessage*"],
        "SQSPollerPolicy" => &[
            "sqs:ChangeMessageVisibility",
            "sqs:ChangeMessageVisibilityBatch",
            "sqs:DeleteMessage",
            "sqs:DeleteMessageBatch",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ],
        "S3ReadPolicy" => &[
            "s3:GetObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetObjectVersion",
            "s3:GetLifecycleConfiguration",
        ],
        "AWSSecretsManagerGetSecretValuePolicy" => &["secretsmanager:GetSecretValue"],
        "SNSPublishMessagePolicy" => &["sns:Publish"],
        "DynamoDBReadPolicy" => &[
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
        ],
        "DynamoDBCrudPolicy" => &[
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ],
        _ => return None,
    })
}

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

impl FunctionPolicy {
    /// The `Policies` of a function in the template: inline statements (their
    /// `Allow` actions) and SAM policy templates.
    pub fn of(template: &Template, function: &str) -> Result<FunctionPolicy, DevstackError> {
        let resource = template
            .resource(function)
            .ok_or_else(|| DevstackError::Template(format!("no function {function}")))?;
        let mut allowed = Vec::new();
        for policy in resource.properties["Policies"].as_array().into_iter().flatten() {
            let Some(policy) = policy.as_object() else {
                return Err(DevstackError::Template(format!(
                    "{function}: managed policy {policy} is not understood by the local IAM check"
                )));
            };
            if let Some(statements) = policy.get("Statement") {
                for statement in statements.as_array().into_iter().flatten() {
                    if statement["Effect"] == "Allow" {
                        allowed.extend(texts(&statement["Action"]));
                    }
                }
                continue;
            }
            for name in policy.keys() {
                let actions = sam_policy_template(name).ok_or_else(|| {
                    DevstackError::Template(format!(
                        "{function}: SAM policy template {name} is not known to the local IAM check (devstack/src/iam.rs)"
                    ))
                })?;
                allowed.extend(actions.iter().map(|a| a.to_string()));
            }
        }
        Ok(FunctionPolicy {
            function: function.to_string(),
            allowed,
        })
    }

    /// Whether the role allows `action` (`service:Action`, as IAM names it).
    pub fn allows(&self, action: &str) -> bool {
        self.allowed.iter().any(|pattern| matches(pattern, action))
    }
}

/// IAM's action matching: case-insensitive, `*` any run of characters.
fn matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match pattern.split_once('*') {
        None => pattern == action,
        Some((head, tail)) => {
            action.starts_with(head)
                && (0..=action.len() - head.len())
                    .filter(|&skip| action.is_char_boundary(head.len() + skip))
                    .any(|skip| matches(tail, &action[head.len() + skip..]))
        }
    }
}

/// The IAM action an SDK operation needs: the service's IAM prefix and, for
/// the few operations IAM authorises under another name, that name.
pub fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service {
        "DynamoDB" => "dynamodb".to_string(),
        "Secrets Manager" => "secretsmanager".to_string(),
        "SESv2" => "ses".to_string(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    };
    let action = match (prefix.as_str(), operation) {
        // SQS authorises each batch call as its single-message action.
        ("sqs", batch) if batch.ends_with("Batch") => batch.trim_end_matches("Batch"),
        ("s3", "HeadObject") => "GetObject",
        ("s3", "ListObjectsV2" | "ListObjects" | "HeadBucket") => "ListBucket",
        (_, operation) => operation,
    };
    format!("{prefix}:{action}")
}

/// The IAM actions a call needs. DynamoDB has no transaction actions: IAM
/// checks each action of a transaction as the single-item call it is.
fn required_actions(
    service: &str,
    operation: &str,
    context: &BeforeSerializationInterceptorContextRef<'_>,
) -> Vec<String> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    match (service, operation) {
        ("DynamoDB", "TransactWriteItems") => {
            let Some(input) = context.input().downcast_ref::<TransactWriteItemsInput>() else {
                return vec![iam_action(service, operation)];
            };
            let mut actions: Vec<String> = input
                .transact_items()
                .iter()
                .map(|item| {
                    let action = if item.put().is_some() {
                        "PutItem"
                    } else if item.update().is_some() {
                        "UpdateItem"
                    } else if item.delete().is_some() {
                        "DeleteItem"
                    } else {
                        "ConditionCheckItem"
                    };
                    format!("dynamodb:{action}")
                })
                .collect();
            actions.sort();
            actions.dedup();
            actions
        }
        ("DynamoDB", "TransactGetItems") => vec!["dynamodb:GetItem".to_string()],
        _ => vec![iam_action(service, operation)],
    }
}

/// An SDK interceptor that refuses, as IAM would, what `policy` does not allow.
#[derive(Debug, Clone)]
pub struct PolicyCheck {
    policy: Arc<FunctionPolicy>,
}

impl PolicyCheck {
    pub fn new(policy: FunctionPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl Intercept for PolicyCheck {
    fn name(&self) -> &'static str {
        "PolicyCheck"
    }

    // Not `read_before_execution`: a client's interceptors run that before the
    // operation's metadata is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let actions = required_actions(metadata.service(), metadata.name(), context);
        let Some(action) = actions.into_iter().find(|action| !self.policy.allows(action)) else {
            return Ok(());
        };
        let message = format!(
            "AccessDenied (local IAM check): {} may not call {action}; template.yaml does not grant it",
            self.policy.function
        );
        tracing::error!(function = %self.policy.function, action = %action, "{message}");
        Err(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_case_match_as_iam_does() {
        assert!(matches("sqs:SendMessage*", "sqs:SendMessage"));
        assert!(matches("sqs:SendMessage*", "sqs:sendmessagebatch"));
        assert!(matches("s3:*", "s3:GetObject"));
        assert!(matches("*", "dynamodb:Scan"));
        assert!(matches("dynamodb:*Item", "dynamodb:BatchGetItem"));
        assert!(!matches("dynamodb:GetItem", "dynamodb:BatchGetItem"));
        assert!(!matches("sqs:SendMessage*", "sqs:ReceiveMessage"));
    }

    #[test]
    fn batch_and_head_operations_need_the_actions_iam_checks() {
        assert_eq!(iam_action("SQS", "SendMessageBatch"), "sqs:SendMessage");
        assert_eq!(iam_action("SQS", "DeleteMessageBatch"), "sqs:DeleteMessage");
        assert_eq!(iam_action("S3", "HeadObject"), "s3:GetObject");
        assert_eq!(iam_action("DynamoDB", "BatchWriteItem"), "dynamodb:BatchWriteItem");
        assert_eq!(
            iam_action("Secrets Manager", "GetSecretValue"),
            "secretsmanager:GetSecretValue"
        );
    }

    /// A client whose calls go nowhere (nothing listens on port 9): a call
    /// that gets past the check fails to connect instead.
    fn checked_client(policy: FunctionPolicy) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .interceptor(PolicyCheck::new(policy))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<String> {
        let chain = cc_runtime::ErrorChain(err).to_string();
        chain.contains("AccessDenied").then_some(chain)
    }

    #[tokio::test]
    async fn a_call_the_policy_does_not_grant_is_refused_before_it_is_sent() {
        let template = Template::load(&crate::project_root().join("template.yaml")).unwrap();
        let client = checked_client(FunctionPolicy::of(&template, "IngestFunction").unwrap());
        let denied = client.scan().table_name("t").send().await.unwrap_err();
        let chain = cc_runtime::ErrorChain(&denied).to_string();
        assert!(chain.contains("IngestFunction may not call dynamodb:Scan"), "{chain}");
        let allowed = client.query().table_name("t").send().await.unwrap_err();
        assert_eq!(refusal(&allowed), None);
    }

    #[tokio::test]
    async fn a_transaction_needs_each_of_its_actions() {
        use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
        let client = checked_client(FunctionPolicy {
            function: "PutOnly".into(),
            allowed: vec!["dynamodb:PutItem".into()],
        });
        let key = || std::collections::HashMap::from([("PK".to_string(), AttributeValue::S("k".into()))]);
        let put = TransactWriteItem::builder()
            .put(Put::builder().table_name("t").set_item(Some(key())).build().unwrap())
            .build();
        let delete = TransactWriteItem::builder()
            .delete(Delete::builder().table_name("t").set_key(Some(key())).build().unwrap())
            .build();
        let puts = client.transact_write_items().transact_items(put.clone()).send().await;
        assert_eq!(refusal(&puts.unwrap_err()), None);
        let mixed = client
            .transact_write_items()
            .transact_items(put)
            .transact_items(delete)
            .send()
            .await;
        let refused = refusal(&mixed.unwrap_err()).expect("refused");
        assert!(
            refused.contains("PutOnly may not call dynamodb:DeleteItem"),
            "{refused}"
        );
    }

    #[test]
    fn every_function_of_the_template_has_a_readable_policy() {
        let template = Template::load(&crate::project_root().join("template.yaml")).unwrap();
        let ingest = FunctionPolicy::of(&template, "IngestFunction").unwrap();
        assert!(ingest.allows("dynamodb:BatchWriteItem"));
        assert!(ingest.allows("sqs:SendMessage"));
        assert!(!ingest.allows("dynamodb:Scan"), "no function may Scan");
        assert!(!ingest.allows("ses:SendRawEmail"));
        for function in template.resources().filter(|r| r.kind == "AWS::Serverless::Function") {
            FunctionPolicy::of(&template, function.logical_id).unwrap();
        }
    }
}
