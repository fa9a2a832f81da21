//! Reading template.yaml, the single source of what the stack contains.
//! CloudFormation's short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) are
//! turned into their long form (`{"Ref": X}`, `{"Fn::GetAtt": [A, B]}`...).

use crate::DevstackError;
use serde_json::{Map, Value};
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
}

/// One entry of `Resources`.
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub kind: &'a str,
    pub properties: &'a Value,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, DevstackError> {
        let text = std::fs::read_to_string(path).map_err(DevstackError::TemplateRead)?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, DevstackError> {
        let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(DevstackError::TemplateParse)?;
        let root = to_json(yaml);
        if !root.get("Resources").is_some_and(Value::is_object) {
            return Err(DevstackError::Template("it has no Resources".into()));
        }
        Ok(Self { root })
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        static NULL: Value = Value::Null;
        self.root["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, body)| Resource {
                logical_id: id.as_str(),
                kind: body.get("Type").and_then(Value::as_str).unwrap_or_default(),
                properties: body.get("Properties").unwrap_or(&NULL),
            })
    }

    pub fn resource(&self, logical_id: &str) -> Option<Resource<'_>> {
        self.resources().find(|r| r.logical_id == logical_id)
    }

    /// A parameter's default value, as text.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        scalar_text(self.root.get("Parameters")?.get(name)?.get("Default")?)
    }

    /// A function's environment: `Globals.Function.Environment.Variables`
    /// overlaid with the function's own, each value still unresolved.
    pub fn function_environment(&self, logical_id: &str) -> Result<Map<String, Value>, DevstackError> {
        let function = self
            .resource(logical_id)
            .filter(|r| r.kind == "AWS::Serverless::Function" || r.kind == "AWS::Lambda::Function")
            .ok_or_else(|| DevstackError::Template(format!("no function {logical_id}")))?;
        let mut variables = self.root["Globals"]["Function"]["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if let Some(own) = function.properties["Environment"]["Variables"].as_object() {
            variables.extend(own.clone());
        }
        Ok(variables)
    }
}

impl Template {
    /// The queues a function's SQS event sources read: each queue's logical id
    /// and its batch size (Lambda's default of 10 when the template sets none).
    pub fn function_queues(&self, logical_id: &str) -> Vec<(String, i32)> {
        let Some(function) = self.resource(logical_id) else {
            return Vec::new();
        };
        function.properties["Events"]
            .as_object()
            .into_iter()
            .flat_map(|events| events.values())
            .filter(|event| event["Type"] == "SQS")
            .filter_map(|event| {
                let properties = &event["Properties"];
                let queue = &properties["Queue"];
                let batch_size = properties["BatchSize"]
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(10);
                queue["Fn::GetAtt"][0]
                    .as_str()
                    .or_else(|| queue["Ref"].as_str())
                    .map(|queue| (queue.to_string(), batch_size))
            })
            .collect()
    }
}

pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn to_json(value: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => scalar_text(&to_json(other))?,
                    };
                    Some((key, to_json(v)))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(tagged.value);
            match name {
                "Ref" | "Condition" => Value::Object(Map::from_iter([(name.to_string(), inner)])),
                // `!GetAtt Resource.Attribute` is the dotted short form of a two-item list.
                "GetAtt" => {
                    let parts = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((resource, attribute)) => {
                                vec![Value::from(resource), Value::from(attribute)]
                            }
                            None => vec![Value::from(s)],
                        },
                        other => other.as_array().cloned().unwrap_or_default(),
                    };
                    Value::Object(Map::from_iter([("Fn::GetAtt".to_string(), Value::Array(parts))]))
                }
                other => Value::Object(Map::from_iter([(format!("Fn::{other}"), inner)])),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SAMPLE: &str = r#"
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Environment:
      Variables:
        SHARED: yes-please
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
          NAME: !Sub "${AWS::StackName}-x"
"#;

    #[test]
    fn short_form_tags_become_long_form() {
        let template = Template::parse(SAMPLE).unwrap();
        let env = template.function_environment("Fn").unwrap();
        assert_eq!(env["TABLE_NAME"], json!({"Ref": "Table"}));
        assert_eq!(env["TABLE_ARN"], json!({"Fn::GetAtt": ["Table", "Arn"]}));
        assert_eq!(env["NAME"], json!({"Fn::Sub": "${AWS::StackName}-x"}));
        assert_eq!(env["SHARED"], json!("yes-please"));
        assert_eq!(template.parameter_default("Stage").as_deref(), Some("dev"));
        let mut kinds: Vec<_> = template.resources().map(|r| (r.logical_id, r.kind)).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [("Fn", "AWS::Serverless::Function"), ("Table", "AWS::DynamoDB::Table")]
        );
    }

    #[test]
    fn the_project_template_parses() {
        let template = Template::load(&crate::project_root().join("template.yaml")).unwrap();
        assert!(template.resources().any(|r| r.kind == "AWS::DynamoDB::Table"));
        assert!(
            template
                .function_environment("ApiFunction")
                .unwrap()
                .contains_key("TABLE_NAME")
        );
    }
}
