//! Import files in S3: presigned upload URLs, reading an upload, removing it.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use cc_domain::StoreError;
use cc_domain::import::UPLOAD_URL_TTL;
use cc_domain::ports::{FileError, ImportFiles, UploadUrl};
use chrono::{DateTime, Utc};

/// The bucket that receives large imports.
#[derive(Clone)]
pub struct S3Files {
    client: Client,
    bucket: String,
}

impl S3Files {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client for `config`: path-style addressing when an endpoint
    /// override points at an emulator (no per-bucket host names there).
    pub fn client(config: &aws_config::SdkConfig) -> Client {
        let mut builder = aws_sdk_s3::config::Builder::from(config);
        if config.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        Client::from_conf(builder.build())
    }
}

fn backend<E>(context: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |err| StoreError::backend(context, err)
}

#[async_trait]
impl ImportFiles for S3Files {
    async fn upload_url(&self, key: &str, now: DateTime<Utc>) -> Result<UploadUrl, StoreError> {
        let ttl = UPLOAD_URL_TTL.to_std().expect("a positive duration");
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(PresigningConfig::expires_in(ttl).map_err(backend("presigning config"))?)
            .await
            .map_err(backend("presigning PutObject"))?;
        Ok(UploadUrl {
            url: presigned.uri().to_string(),
            expires_at: now + UPLOAD_URL_TTL,
        })
    }

    async fn read(&self, key: &str, limit: u64) -> Result<Vec<u8>, FileError> {
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Err(FileError::Missing);
            }
            Err(err) => return Err(StoreError::backend("GetObject", err).into()),
        };
        let size = object.content_length().unwrap_or_default().max(0) as u64;
        if size > limit {
            return Err(FileError::TooLarge { size, limit });
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(backend("reading an S3 object"))?
            .into_bytes();
        Ok(bytes.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(backend("DeleteObject"))?;
        Ok(())
    }
}

/// The reply domain's received messages: the same bucket reader.
#[async_trait]
impl cc_domain::ports::MailFiles for S3Files {
    async fn read_mail(&self, key: &str, limit: u64) -> Result<Vec<u8>, FileError> {
        ImportFiles::read(self, key, limit).await
    }
}
