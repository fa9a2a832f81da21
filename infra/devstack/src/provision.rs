//! Creating the template's stateful resources in the emulator. The template is
//! read, not mirrored: a table or queue added to template.yaml appears locally
//! with no other edit. Resources are named `<prefix><LogicalId>`, so tests can
//! give each test its own tables.

use crate::DevstackError;
use crate::template::{Resource, Template, scalar_text};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Resource types that hold state the functions need but the local stack does
/// not create yet: provisioning stops with a clear error rather than leaving
/// them silently missing.
const NOT_YET_LOCAL: &[&str] = &["AWS::Kinesis::Stream"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalResource {
    Table { name: String },
    Queue { name: String, url: String, arn: String },
    Bucket { name: String },
    Topic { name: String, arn: String },
}

/// What was provisioned, by logical id.
#[derive(Debug, Clone, Default)]
pub struct LocalStack {
    pub prefix: String,
    pub resources: BTreeMap<String, LocalResource>,
    /// Resources that have no local state (functions, roles, log groups...).
    pub skipped: Vec<String>,
}

impl LocalStack {
    pub fn table(&self, logical_id: &str) -> Option<&str> {
        match self.resources.get(logical_id)? {
            LocalResource::Table { name } => Some(name),
            _ => None,
        }
    }

    pub fn queue_arn(&self, logical_id: &str) -> Option<&str> {
        match self.resources.get(logical_id)? {
            LocalResource::Queue { arn, .. } => Some(arn),
            _ => None,
        }
    }

    pub fn bucket(&self, logical_id: &str) -> Option<&str> {
        match self.resources.get(logical_id)? {
            LocalResource::Bucket { name } => Some(name),
            _ => None,
        }
    }

    pub fn topic_arn(&self, logical_id: &str) -> Option<&str> {
        match self.resources.get(logical_id)? {
            LocalResource::Topic { arn, .. } => Some(arn),
            _ => None,
        }
    }

    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        match self.resources.get(logical_id)? {
            LocalResource::Queue { url, .. } => Some(url),
            _ => None,
        }
    }

    /// Resolves a template value as CloudFormation would, for what exists
    /// locally: `Ref` of a table (its name), a queue (its URL) or a parameter
    /// (its default), and `GetAtt X.Arn`/`X.QueueUrl`/`X.QueueName`.
    pub fn resolve(&self, template: &Template, value: &Value) -> Option<String> {
        if let Some(text) = scalar_text(value) {
            return Some(text);
        }
        if let Some(target) = value.get("Ref").and_then(Value::as_str) {
            return match self.resources.get(target) {
                Some(LocalResource::Table { name }) => Some(name.clone()),
                Some(LocalResource::Queue { url, .. }) => Some(url.clone()),
                Some(LocalResource::Bucket { name }) => Some(name.clone()),
                Some(LocalResource::Topic { arn, .. }) => Some(arn.clone()),
                None => template.parameter_default(target),
            };
        }
        if let Some(text) = value.get("Fn::Sub").and_then(Value::as_str) {
            return self.substitute(template, text);
        }
        if let Some([target, attribute]) = value.get("Fn::GetAtt").and_then(Value::as_array).map(Vec::as_slice) {
            let (target, attribute) = (target.as_str()?, attribute.as_str()?);
            return match (self.resources.get(target)?, attribute) {
                (LocalResource::Table { name }, "Arn") => {
                    Some(format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"))
                }
                (LocalResource::Queue { arn, .. }, "Arn") => Some(arn.clone()),
                (LocalResource::Queue { url, .. }, "QueueUrl") => Some(url.clone()),
                (LocalResource::Queue { name, .. }, "QueueName") => Some(name.clone()),
                (LocalResource::Bucket { name }, "Arn") => Some(format!("arn:aws:s3:::{name}")),
                (LocalResource::Topic { name, .. }, "TopicName") => Some(name.clone()),
                _ => None,
            };
        }
        None
    }

    /// `Fn::Sub` of a plain string: each `${Name}` is a parameter's default, a
    /// local resource's `Ref`, or one of the pseudo parameters as the emulator
    /// has them; `None` when any reference does not exist locally.
    fn substitute(&self, template: &Template, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let name = &rest[start + 2..end];
            let value = match name {
                "AWS::Region" => "us-east-1".to_string(),
                "AWS::AccountId" => "123456789012".to_string(),
                "AWS::Partition" => "aws".to_string(),
                "AWS::URLSuffix" => "amazonaws.com".to_string(),
                _ => self.resolve(template, &serde_json::json!({ "Ref": name }))?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// A function's environment with every value that exists locally
    /// resolved, and the names of those that do not (e.g. a secret's ARN).
    pub fn function_environment(
        &self,
        template: &Template,
        function: &str,
    ) -> Result<(BTreeMap<String, String>, Vec<String>), DevstackError> {
        let mut resolved = BTreeMap::new();
        let mut unresolved = Vec::new();
        for (name, value) in template.function_environment(function)? {
            match self.resolve(template, &value) {
                Some(text) => {
                    resolved.insert(name, text);
                }
                None => unresolved.push(name),
            }
        }
        Ok((resolved, unresolved))
    }
}

fn failed(resource: &str) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> DevstackError + '_ {
    move |source| DevstackError::Provision {
        resource: resource.to_string(),
        source,
    }
}

fn texts<'a>(value: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    value.get(field).and_then(Value::as_array).into_iter().flatten()
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn key_schema(value: &Value) -> Result<Vec<KeySchemaElement>, Box<dyn std::error::Error + Send + Sync>> {
    texts(value, "KeySchema")
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName"))
                .key_type(KeyType::from(text(k, "KeyType")))
                .build()?)
        })
        .collect()
}

fn projection(value: &Value) -> Projection {
    let projection = &value["Projection"];
    Projection::builder()
        .projection_type(ProjectionType::from(
            projection
                .get("ProjectionType")
                .and_then(Value::as_str)
                .unwrap_or("ALL"),
        ))
        .set_non_key_attributes(
            projection
                .get("NonKeyAttributes")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        )
        .build()
}

fn throughput() -> Result<ProvisionedThroughput, Box<dyn std::error::Error + Send + Sync>> {
    Ok(ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(5)
        .build()?)
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    properties: &Value,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let on_demand = text(properties, "BillingMode") == "PAY_PER_REQUEST";
    let attributes = texts(properties, "AttributeDefinitions")
        .map(|a| {
            Ok(AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")))
                .build()?)
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error + Send + Sync>>>()?;
    let mut global = Vec::new();
    for index in texts(properties, "GlobalSecondaryIndexes") {
        global.push(
            GlobalSecondaryIndex::builder()
                .index_name(text(index, "IndexName"))
                .set_key_schema(Some(key_schema(index)?))
                .projection(projection(index))
                .set_provisioned_throughput(if on_demand { None } else { Some(throughput()?) })
                .build()?,
        );
    }
    let mut local = Vec::new();
    for index in texts(properties, "LocalSecondaryIndexes") {
        local.push(
            LocalSecondaryIndex::builder()
                .index_name(text(index, "IndexName"))
                .set_key_schema(Some(key_schema(index)?))
                .projection(projection(index))
                .build()?,
        );
    }
    let created = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(properties)?))
        .set_global_secondary_indexes((!global.is_empty()).then_some(global))
        .set_local_secondary_indexes((!local.is_empty()).then_some(local))
        .billing_mode(if on_demand {
            BillingMode::PayPerRequest
        } else {
            BillingMode::Provisioned
        })
        .set_provisioned_throughput(if on_demand { None } else { Some(throughput()?) })
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Already there from an earlier run against the same emulator.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            return Ok(());
        }
        Err(err) => return Err(Box::new(err)),
    }
    let ttl = &properties["TimeToLiveSpecification"];
    if ttl.get("Enabled").and_then(Value::as_bool) == Some(true) {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName"))
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

const QUEUE_ATTRIBUTES: &[(&str, QueueAttributeName)] = &[
    ("DelaySeconds", QueueAttributeName::DelaySeconds),
    ("MaximumMessageSize", QueueAttributeName::MaximumMessageSize),
    ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
    (
        "ReceiveMessageWaitTimeSeconds",
        QueueAttributeName::ReceiveMessageWaitTimeSeconds,
    ),
    ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
    ("FifoQueue", QueueAttributeName::FifoQueue),
    (
        "ContentBasedDeduplication",
        QueueAttributeName::ContentBasedDeduplication,
    ),
];

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    properties: &Value,
) -> Result<(String, String), Box<dyn std::error::Error + Send + Sync>> {
    let attributes: Vec<(QueueAttributeName, String)> = QUEUE_ATTRIBUTES
        .iter()
        .filter_map(|(property, attribute)| Some((attribute.clone(), properties.get(*property).and_then(scalar_text)?)))
        .collect();
    let created = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.iter().cloned().collect()))
        .send()
        .await;
    let url = match created {
        Ok(out) => out.queue_url.ok_or("CreateQueue returned no URL")?,
        // Kept from an earlier run with other attributes (template.yaml changed): bring it up to date.
        Err(err) if err.as_service_error().is_some_and(|e| e.is_queue_name_exists()) => {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await?
                .queue_url
                .ok_or("GetQueueUrl returned no URL")?;
            let changeable = attributes
                .into_iter()
                .filter(|(attribute, _)| *attribute != QueueAttributeName::FifoQueue)
                .collect();
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(changeable))
                .send()
                .await?;
            url
        }
        Err(err) => return Err(Box::new(err)),
    };
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or("GetQueueAttributes returned no ARN")?;
    Ok((url, arn))
}

/// Creates a bucket and points its notifications at the queues they name
/// (queues exist by then). The template's `BucketName` is not used: local
/// buckets are named like every other local resource.
async fn create_bucket(
    client: &aws_sdk_s3::Client,
    stack: &LocalStack,
    template: &Template,
    name: &str,
    properties: &Value,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    match client.create_bucket().bucket(name).send().await {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) => {}
        Err(err) => return Err(Box::new(err)),
    }
    let mut queues = Vec::new();
    for config in texts(&properties["NotificationConfiguration"], "QueueConfigurations") {
        let arn = stack
            .resolve(template, &config["Queue"])
            .ok_or("a notification's Queue does not resolve locally")?;
        let rules = texts(&config["Filter"]["S3Key"], "Rules")
            .map(|rule| {
                Ok(FilterRule::builder()
                    .name(FilterRuleName::from(text(rule, "Name").to_ascii_lowercase().as_str()))
                    .value(text(rule, "Value"))
                    .build())
            })
            .collect::<Result<Vec<_>, Box<dyn std::error::Error + Send + Sync>>>()?;
        queues.push(
            QueueConfiguration::builder()
                .queue_arn(arn)
                .events(Event::from(text(config, "Event")))
                .set_filter((!rules.is_empty()).then(|| {
                    NotificationConfigurationFilter::builder()
                        .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                        .build()
                }))
                .build()?,
        );
    }
    if !queues.is_empty() {
        client
            .put_bucket_notification_configuration()
            .bucket(name)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .set_queue_configurations(Some(queues))
                    .build(),
            )
            .send()
            .await?;
    }
    Ok(())
}

/// Creates every table, queue and bucket of `template` in the emulator behind `config`.
pub async fn provision(config: &SdkConfig, template: &Template, prefix: &str) -> Result<LocalStack, DevstackError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let s3 = cc_store::S3Files::client(config);
    let sns = aws_sdk_sns::Client::new(config);
    let mut stack = LocalStack {
        prefix: prefix.to_string(),
        ..Default::default()
    };
    let resources: Vec<Resource<'_>> = template.resources().collect();

    for resource in &resources {
        if NOT_YET_LOCAL.contains(&resource.kind) {
            return Err(DevstackError::Template(format!(
                "{} is an {}, which the local stack cannot create yet: extend infra/devstack/src/provision.rs",
                resource.logical_id, resource.kind
            )));
        }
    }

    for resource in &resources {
        let physical = format!("{prefix}{}", resource.logical_id);
        match resource.kind {
            "AWS::DynamoDB::Table" => {
                create_table(&dynamodb, &physical, resource.properties)
                    .await
                    .map_err(failed(resource.logical_id))?;
                stack
                    .resources
                    .insert(resource.logical_id.to_string(), LocalResource::Table { name: physical });
            }
            "AWS::SQS::Queue" => {
                let fifo = resource.properties.get("FifoQueue").and_then(scalar_text).as_deref() == Some("true");
                let name = if fifo { format!("{physical}.fifo") } else { physical };
                let (url, arn) = create_queue(&sqs, &name, resource.properties)
                    .await
                    .map_err(failed(resource.logical_id))?;
                stack
                    .resources
                    .insert(resource.logical_id.to_string(), LocalResource::Queue { name, url, arn });
            }
            // Buckets send to queues: made once every queue exists, below.
            "AWS::S3::Bucket" => {}
            "AWS::SNS::Topic" => {
                let out = sns
                    .create_topic()
                    .name(&physical)
                    .send()
                    .await
                    .map_err(|e| failed(resource.logical_id)(Box::new(e)))?;
                let arn = out.topic_arn().unwrap_or_default().to_string();
                stack.resources.insert(
                    resource.logical_id.to_string(),
                    LocalResource::Topic { name: physical, arn },
                );
            }
            // Subscriptions join topics to queues: made once both exist, below.
            "AWS::SNS::Subscription" => {}
            _ => stack
                .skipped
                .push(format!("{} ({})", resource.logical_id, resource.kind)),
        }
    }

    // Redrive policies name other queues, so they are set once all queues exist.
    for resource in resources.iter().filter(|r| r.kind == "AWS::SQS::Queue") {
        let Some(policy) = resource.properties.get("RedrivePolicy") else {
            continue;
        };
        let target = stack.resolve(template, &policy["deadLetterTargetArn"]).ok_or_else(|| {
            DevstackError::Template(format!(
                "{}: deadLetterTargetArn does not resolve locally",
                resource.logical_id
            ))
        })?;
        let max_receive = policy
            .get("maxReceiveCount")
            .and_then(scalar_text)
            .unwrap_or_else(|| "5".into());
        let url = stack.queue_url(resource.logical_id).expect("created above").to_string();
        let redrive =
            json!({"deadLetterTargetArn": target, "maxReceiveCount": max_receive.parse::<u32>().unwrap_or(5)});
        sqs.set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(|e| failed(resource.logical_id)(Box::new(e)))?;
    }

    // Topics deliver to queues as the template subscribes them (moto delivers in-process).
    for resource in resources.iter().filter(|r| r.kind == "AWS::SNS::Subscription") {
        let props = resource.properties;
        let resolve = |field: &str| {
            props
                .get(field)
                .and_then(|v| stack.resolve(template, v))
                .ok_or_else(|| {
                    DevstackError::Template(format!("{}: {field} does not resolve locally", resource.logical_id))
                })
        };
        let (topic, protocol, endpoint) = (resolve("TopicArn")?, resolve("Protocol")?, resolve("Endpoint")?);
        let mut request = sns.subscribe().topic_arn(topic).protocol(protocol).endpoint(endpoint);
        if let Some(raw) = props.get("RawMessageDelivery").and_then(scalar_text) {
            request = request.attributes("RawMessageDelivery", raw);
        }
        request
            .send()
            .await
            .map_err(|e| failed(resource.logical_id)(Box::new(e)))?;
    }

    for resource in resources.iter().filter(|r| r.kind == "AWS::S3::Bucket") {
        // Bucket names are lower-case.
        let name = format!("{prefix}{}", resource.logical_id).to_ascii_lowercase();
        create_bucket(&s3, &stack, template, &name, resource.properties)
            .await
            .map_err(failed(resource.logical_id))?;
        stack
            .resources
            .insert(resource.logical_id.to_string(), LocalResource::Bucket { name });
    }
    Ok(stack)
}
