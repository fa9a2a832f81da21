use integration_tests::{emulator_config, project_template, unique_prefix};

/// The local stack reads template.yaml: a table (and a queue with its
/// dead-letter queue) added to the template appears locally with no other edit.
#[tokio::test]
async fn resources_added_to_the_template_appear_locally() {
    let config = emulator_config().await;
    let original = std::fs::read_to_string(devstack::project_root().join("template.yaml")).unwrap();
    let extended = original.replacen(
        "Resources:\n",
        r#"Resources:
  ExtraTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: id
          AttributeType: S
      KeySchema:
        - AttributeName: id
          KeyType: HASH
  ExtraDeadLetters:
    Type: AWS::SQS::Queue
  ExtraQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 45
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt ExtraDeadLetters.Arn
        maxReceiveCount: 3
"#,
        1,
    );
    let template = devstack::Template::parse(&extended).unwrap();
    let prefix = unique_prefix();
    let stack = devstack::provision(&config, &template, &prefix).await.unwrap();

    let mut expected_tables: Vec<String> = project_template()
        .resources()
        .filter(|r| r.kind == "AWS::DynamoDB::Table")
        .map(|r| format!("{prefix}{}", r.logical_id))
        .collect();
    expected_tables.push(format!("{prefix}ExtraTable"));
    for table in &expected_tables {
        assert!(table_exists(&config, table).await, "{table} was not created");
    }

    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = stack.queue_url("ExtraQueue").expect("the queue was provisioned");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        "45"
    );
    let redrive = &attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
    assert!(redrive.contains(&format!("{prefix}ExtraDeadLetters")), "{redrive}");

    // The function's environment resolves against what was provisioned.
    let (environment, unresolved) = stack.function_environment(&template, "ApiFunction").unwrap();
    assert_eq!(environment["TABLE_NAME"], format!("{prefix}MainTable"));
    assert!(unresolved.contains(&"OPERATOR_KEY_SECRET_ARN".to_string()));

    // Provisioning twice (make dev run twice against one emulator) is harmless.
    devstack::provision(&config, &template, &prefix).await.unwrap();
}

async fn table_exists(config: &aws_config::SdkConfig, name: &str) -> bool {
    aws_sdk_dynamodb::Client::new(config)
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn the_main_table_has_the_indexes_and_ttl_of_the_template() {
    let config = emulator_config().await;
    let prefix = unique_prefix();
    devstack::provision(&config, &project_template(), &prefix)
        .await
        .unwrap();
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = client
        .describe_table()
        .table_name(format!("{prefix}MainTable"))
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<_> = table
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_string))
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["GSI1", "GSI2", "GSI3", "GSI4"]);
    let ttl = client
        .describe_time_to_live()
        .table_name(format!("{prefix}MainTable"))
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
}

/// A local stack kept from an earlier run is brought up to date when
/// template.yaml changed a queue's attributes (make dev keeps its state).
#[tokio::test]
async fn provisioning_again_after_a_template_change_updates_the_queues() {
    let config = emulator_config().await;
    let prefix = unique_prefix();
    devstack::provision(&config, &project_template(), &prefix)
        .await
        .unwrap();
    let original = std::fs::read_to_string(devstack::project_root().join("template.yaml")).unwrap();
    let changed = original.replacen("VisibilityTimeout: 360", "VisibilityTimeout: 123", 1);
    assert_ne!(changed, original, "the template sets a visibility timeout of 360");
    let template = devstack::Template::parse(&changed).unwrap();
    let stack = devstack::provision(&config, &template, &prefix).await.unwrap();

    let sqs = aws_sdk_sqs::Client::new(&config);
    let timeouts: Vec<String> = {
        let mut found = Vec::new();
        for queue in ["LeadBatchQueue", "ImportUploadQueue"] {
            let attributes = sqs
                .get_queue_attributes()
                .queue_url(stack.queue_url(queue).unwrap())
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                .send()
                .await
                .unwrap();
            found.push(
                attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout].clone(),
            );
        }
        found
    };
    assert!(timeouts.contains(&"123".to_string()), "{timeouts:?}");
}
